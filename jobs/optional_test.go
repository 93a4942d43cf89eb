package jobs

import (
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"testing"
)

// setCase is a flag value and what Optional.Set makes of it.
type setCase[T int | float64] struct {
	in      string
	want    T
	wantErr string // "": none
}

func checkSet[T int | float64](t *testing.T, cases []setCase[T]) {
	t.Helper()
	for _, tc := range cases {
		var o Optional[T]
		err := o.Set(tc.in)
		switch {
		case tc.wantErr != "" && (err == nil || err.Error() != tc.wantErr || o.IsSet()):
			t.Errorf("Set(%q): err %v, set %v; want %q and unset", tc.in, err, o.IsSet(), tc.wantErr)
		case tc.wantErr == "" && (err != nil || !o.IsSet() || o.Get() != tc.want):
			t.Errorf("Set(%q) = %v, %v (set %v); want %v", tc.in, o.Get(), err, o.IsSet(), tc.want)
		}
	}
}

func TestOptionalSet(t *testing.T) {
	checkSet(t, []setCase[int]{
		{"3", 3, ""},
		{"0", 0, ""},
		{"-2", -2, ""},
		{"0x10", 16, ""}, // as the flag package reads ints
		{"abc", 0, "want a whole number, e.g. 100"},
		{"1.5", 0, "want a whole number, e.g. 100"},
		{"99999999999999999999", 0, "value out of range"},
	})
	checkSet(t, []setCase[float64]{
		{"0.5", 0.5, ""},
		{"0", 0, ""},
		{"1e-3", 1e-3, ""},
		{"x", 0, "want a number, e.g. 0.5"},
		{"1e999", 0, "value out of range"},
	})
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
