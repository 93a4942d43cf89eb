package jobs

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/vaejob/vaejob/parquet"
)

// TestWithFlags checks that errors of the parquet package about a setting
// come out of jobs naming the flag, with their kind kept, and that the
// parquet package itself names no flag.
func TestWithFlags(t *testing.T) {
	const demo = "../testdata/breast_cancer_wisconsin.parquet"
	keepsNone, err := parquet.ParseFilter("mean_radius < -1")
	if err != nil {
		t.Fatal(err)
	}
	read := func(sel parquet.Selection, opts parquet.ReadOptions) error {
		ins, err := parquet.ResolveInputs([]string{demo})
		if err != nil {
			return err
		}
		_, err = parquet.ReadInputs(context.Background(), ins, sel, opts)
		return err
	}
	tests := []struct {
		name string
		err  func() error
		kind error
		want string
	}{
		{"empty filter", func() error { _, err := parquet.ParseFilter(" "); return err }, parquet.ErrUsage, "--filter is empty"},
		{"filter syntax", func() error { _, err := parquet.ParseFilter("a = "); return err }, parquet.ErrUsage, `--filter "a = ": `},
		{"filter keeps nothing", func() error { return read(parquet.Selection{}, parquet.ReadOptions{Filter: keepsNone}) }, parquet.ErrBadInput, "--filter mean_radius < -1 keeps none of the 569 rows read"},
		{"features pattern", func() error { return read(parquet.Selection{Features: []string{"zz*"}}, parquet.ReadOptions{}) }, parquet.ErrBadInput, `--features pattern "zz*" matches no numeric column`},
		{"exclude pattern", func() error { return read(parquet.Selection{Exclude: []string{"zz*"}}, parquet.ReadOptions{}) }, parquet.ErrBadInput, `--exclude pattern "zz*" matches no column`},
		{"no setting", func() error { return read(parquet.Selection{Features: []string{"zz"}}, parquet.ReadOptions{}) }, parquet.ErrBadInput, `feature column "zz" does not exist`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			raw := tc.err()
			if raw == nil {
				t.Fatal("no error")
			}
			if strings.Contains(raw.Error(), "--") {
				t.Errorf("the parquet package names a flag: %v", raw)
			}
			err := withFlags(raw)
			if !errors.Is(err, tc.kind) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("withFlags(%v) = %v, want %v saying %s", raw, err, tc.kind, tc.want)
			}
			var fe *parquet.FieldError
			if errors.As(raw, &fe) != errors.As(err, &fe) {
				t.Errorf("withFlags lost the FieldError of %v", raw)
			}
		})
	}
	// Through the options, as a user meets it.
	o := TrainOptions{Inputs: []string{"in.parquet"}, Out: "out", Filter: "a ="}
	if _, err := o.resolve(); !errors.Is(err, ErrUsage) || !strings.Contains(err.Error(), `--filter "a =": `) {
		t.Errorf("resolve: err = %v, want ErrUsage naming --filter", err)
	}
}
