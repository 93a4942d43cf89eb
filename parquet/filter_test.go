package parquet

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
)

func TestFilter(t *testing.T) {
	status := strs([]string{"ok", "bad", "ok", "", "it's"}, 3)
	amount := f64s([]float64{5, -1, 0, 7, 2}, 4)
	flag := bools([]bool{true, false, false, true, true})
	cols := map[string]arrow.Array{"status": status, "amount": amount, "flag": flag, "my col": amount}
	for _, tc := range []struct {
		expr string
		want string // rows kept, as digits
	}{
		{"status = 'ok'", "02"},
		{"status != 'ok'", "14"},
		{"status <> 'ok'", "14"},
		{"amount >= 0", "023"},
		{"amount > 0 AND status = 'ok'", "0"},
		{"amount < 0 OR status IS NULL", "13"},
		{"NOT (status = 'ok')", "134"},
		{"status IN ('bad', 'it''s')", "14"},
		{"amount IS NOT NULL", "0123"},
		{"status IS NULL", "3"},
		{"flag = true", "034"},
		{"\"my col\" <= -1", "1"},
		{"amount = 5 or amount = 7 and status is null", "03"},
		{"(amount = 5 OR amount = 7) AND status IS NULL", "3"},
		{"amount == 0", "2"},
		{"amount > -1.5e0", "0123"},
	} {
		t.Run(tc.expr, func(t *testing.T) {
			f, err := ParseFilter(tc.expr)
			if err != nil {
				t.Fatal(err)
			}
			fields := []arrow.Field{{Name: "status", Type: status.DataType()}, {Name: "amount", Type: amount.DataType()}, {Name: "flag", Type: flag.DataType()}, {Name: "my col", Type: amount.DataType()}}
			if err := f.check(fields); err != nil {
				t.Fatal(err)
			}
			mask, err := f.mask(5, cols)
			if err != nil {
				t.Fatal(err)
			}
			var got strings.Builder
			for i, keep := range mask {
				if keep {
					fmt.Fprint(&got, i)
				}
			}
			if got.String() != tc.want {
				t.Errorf("rows %q, want %q", got.String(), tc.want)
			}
		})
	}
}

func TestFilterErrors(t *testing.T) {
	fields := []arrow.Field{{Name: "status", Type: arrow.BinaryTypes.String}, {Name: "amount", Type: arrow.PrimitiveTypes.Float64}, {Name: "at", Type: arrow.FixedWidthTypes.Timestamp_us}}
	for _, tc := range []struct{ expr, want string }{
		{"", "empty"},
		{"status = 'ok", "unterminated"},
		{"status = ", "want a value"},
		{"= 'ok'", "want a column name"},
		{"status 'ok'", "want a comparison"},
		{"status = 'ok' AND", "want a column name"},
		{"(status = 'ok'", "missing ')'"},
		{"status IN 'ok'", "list in parentheses"},
		{"status IN ('a' 'b')", "want ',' or ')'"},
		{"status IS 'x'", "NULL or NOT NULL"},
		{"amount ! 3", "'!' must be followed"},
		{"amount = 3 extra", "unexpected"},
		{"amount = 1.2.3", "not a number"},
		{"amount # 3", "unexpected character"},
		{"nope = 1", `column "nope"`},
		{"status = 3", "compare it with a quoted string"},
		{"amount = 'x'", "compare it with a number"},
		{"at > 3", "filters work on text, numeric and boolean"},
	} {
		t.Run(tc.expr, func(t *testing.T) {
			f, err := ParseFilter(tc.expr)
			if err == nil {
				err = f.check(fields)
			}
			if !errors.Is(err, ErrUsage) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want a usage error with %q", err, tc.want)
			}
		})
	}
}

// FuzzParseFilter: the parser never panics, and what it accepts names at
// least one column.
func FuzzParseFilter(f *testing.F) {
	for _, s := range []string{"a = 1", "status IN ('x', 'y') AND NOT b IS NULL", "(a<1 OR b>=2)", "\"x y\" <> 'it''s'", "a = -1e5"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		flt, err := ParseFilter(s)
		if err != nil {
			if !errors.Is(err, ErrUsage) {
				t.Fatalf("error %v does not wrap ErrUsage", err)
			}
			return
		}
		if len(flt.Columns()) == 0 || slices.Contains(flt.Columns(), "") && !strings.Contains(s, `""`) {
			t.Fatalf("accepted %q with columns %q", s, flt.Columns())
		}
	})
}
