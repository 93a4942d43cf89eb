package main

import (
	"runtime"
	"slices"
	"testing"
)

func TestColumnsValue(t *testing.T) {
	tests := []struct {
		in   string
		want []string
		ok   bool
	}{
		{"a,b", []string{"a", "b"}, true},
		{" a , b ", []string{"a", "b"}, true},
		{"", nil, true},
		{"a,,b", nil, false},
		{"a,a", nil, false},
	}
	for _, tc := range tests {
		var names []string
		v := columnsValue{&names}
		err := v.Set(tc.in)
		if (err == nil) != tc.ok || !slices.Equal(names, tc.want) {
			t.Errorf("Set(%q): %q, %v; want %q (ok %v)", tc.in, names, err, tc.want, tc.ok)
		}
	}
}

func TestWidthsValue(t *testing.T) {
	tests := []struct {
		in   string
		want []int
		ok   bool
	}{
		{"64,32", []int{64, 32}, true},
		{" 8 ", []int{8}, true},
		{"", nil, true}, // the preset's
		{"0,8", nil, false},
		{"a", nil, false},
		{"8,", nil, false},
	}
	for _, tc := range tests {
		var widths []int
		v := widthsValue{&widths}
		err := v.Set(tc.in)
		if (err == nil) != tc.ok || !slices.Equal(widths, tc.want) {
			t.Errorf("Set(%q): %v, %v; want %v (ok %v)", tc.in, widths, err, tc.want, tc.ok)
		}
	}
	if s := (widthsValue{&[]int{64, 32}}).String(); s != "64,32" {
		t.Errorf("String() = %q, want 64,32", s)
	}
}

// TestWorkersValue: a whole number of at least 1 sets GOMAXPROCS, 0 the
// runtime's default; anything else is refused and changes nothing.
func TestWorkersValue(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	runtime.SetDefaultGOMAXPROCS()
	every := runtime.GOMAXPROCS(0) // every core the process may use
	const before = 97              // not every, so that a change shows
	tests := []struct {
		in    string
		procs int // GOMAXPROCS after Set
		ok    bool
	}{
		{"1", 1, true},
		{" 3 ", 3, true},
		{"0", every, true},
		{"-1", before, false},
		{"1.5", before, false},
		{"", before, false},
		{"two", before, false},
	}
	for _, tc := range tests {
		runtime.GOMAXPROCS(before)
		var v workersValue
		err := v.Set(tc.in)
		if got := runtime.GOMAXPROCS(0); (err == nil) != tc.ok || got != tc.procs {
			t.Errorf("Set(%q): GOMAXPROCS %d, %v; want %d (ok %v)", tc.in, got, err, tc.procs, tc.ok)
		}
	}
}
