package jobs

import (
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"testing"
)

func TestOptionalSet(t *testing.T) {
	ints := []struct {
		in      string
		want    int
		wantErr string
	}{
		{"3", 3, ""},
		{"0", 0, ""},
		{"-2", -2, ""},
		{"0x10", 16, ""}, // as the flag package reads ints
		{"abc", 0, "parse error"},
		{"1.5", 0, "parse error"},
		{"99999999999999999999", 0, "value out of range"},
	}
	for _, tc := range ints {
		var o Optional[int]
		err := o.Set(tc.in)
		if tc.wantErr != "" {
			if err == nil || err.Error() != tc.wantErr || o.IsSet() {
				t.Errorf("Set(%q): err %v, set %v; want %q and unset", tc.in, err, o.IsSet(), tc.wantErr)
			}
			continue
		}
		if err != nil || !o.IsSet() || o.Get() != tc.want {
			t.Errorf("Set(%q) = %v, %v (set %v); want %d", tc.in, o.Get(), err, o.IsSet(), tc.want)
		}
	}
	floats := []struct {
		in      string
		want    float64
		wantErr string
	}{
		{"0.5", 0.5, ""},
		{"0", 0, ""},
		{"1e-3", 1e-3, ""},
		{"x", 0, "parse error"},
		{"1e999", 0, "value out of range"},
	}
	for _, tc := range floats {
		var o Optional[float64]
		err := o.Set(tc.in)
		if tc.wantErr != "" {
			if err == nil || err.Error() != tc.wantErr || o.IsSet() {
				t.Errorf("Set(%q): err %v, set %v; want %q and unset", tc.in, err, o.IsSet(), tc.wantErr)
			}
			continue
		}
		if err != nil || !o.IsSet() || o.Get() != tc.want {
			t.Errorf("Set(%q) = %v, %v (set %v); want %g", tc.in, o.Get(), err, o.IsSet(), tc.want)
		}
	}
	var nan Optional[float64]
	if err := nan.Set("NaN"); err != nil || !math.IsNaN(nan.Get()) {
		t.Errorf("Set(NaN) = %v, %v; want NaN, for resolve to refuse", nan.Get(), err)
	}
}

func TestOptionalDefaults(t *testing.T) {
	var unset Optional[int]
	if unset.IsSet() || unset.Or(7) != 7 || unset.String() != "" {
		t.Errorf("unset: IsSet %v, Or(7) %d, String %q", unset.IsSet(), unset.Or(7), unset.String())
	}
	zero := OptionalOf(0)
	if !zero.IsSet() || zero.Or(7) != 0 || zero.String() != "0" {
		t.Errorf("given 0: IsSet %v, Or(7) %d, String %q", zero.IsSet(), zero.Or(7), zero.String())
	}
	unset.orDefault(5)
	zero.orDefault(5)
	if !unset.IsSet() || unset.Get() != 5 || zero.Get() != 0 {
		t.Errorf("orDefault(5): unset became %v, given 0 became %v", unset.Get(), zero.Get())
	}
}

// TestOptionalJSON: in run.json an Optional is its bare value, and reads
// back as given.
func TestOptionalJSON(t *testing.T) {
	b, err := json.Marshal(struct {
		Beta  Optional[float64] `json:"beta"`
		Steps Optional[int]     `json:"steps"`
	}{OptionalOf(0.5), OptionalOf(0)})
	if err != nil || string(b) != `{"beta":0.5,"steps":0}` {
		t.Fatalf("marshal = %s, %v", b, err)
	}
	var back struct {
		Steps Optional[int] `json:"steps"`
	}
	if err := json.Unmarshal(b, &back); err != nil || !back.Steps.IsSet() || back.Steps.Get() != 0 {
		t.Errorf("unmarshal: %+v, %v", back, err)
	}
	if err := json.Unmarshal([]byte(`{"steps":"x"}`), &back); err == nil {
		t.Error("unmarshal of a string into Optional[int] succeeded")
	}
}

// An Optional is a flag.Value: a flag that is not given leaves it unset,
// so that resolve can tell "the preset's value" from an explicit 0.
func ExampleOptional() {
	var o ModelOptions
	fs := flag.NewFlagSet("train", flag.ContinueOnError)
	fs.Var(&o.Steps, "steps", "optimiser step budget (default: the preset's)")
	fs.Var(&o.Beta, "beta", "KL weight (default: the preset's)")
	if err := fs.Parse([]string{"--steps", "0"}); err != nil {
		panic(err)
	}
	fmt.Println(o.Steps.IsSet(), o.Steps.Get(), o.Beta.IsSet())
	// Output: true 0 false
}
