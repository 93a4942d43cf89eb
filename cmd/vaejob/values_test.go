package main

import (
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
