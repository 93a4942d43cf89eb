package parquet

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParseColumnList(t *testing.T) {
	tests := []struct {
		in   string
		want []string
		msg  string // non-empty: expected error text
	}{
		{"", nil, ""},
		{"   ", nil, ""},
		{"a", []string{"a"}, ""},
		{"a,b, c", []string{"a", "b", "c"}, ""},
		{" a , b\t,c ", []string{"a", "b", "c"}, ""},
		{"mean radius,x", []string{"mean radius", "x"}, ""},
		{"a,,b", nil, "name 2 of 3 is empty"},
		{"a,", nil, "name 2 of 2 is empty"},
		{",a", nil, "name 1 of 2 is empty"},
		{"a, ,b", nil, "name 2 of 3 is empty"},
		{"a,b,a", nil, `column "a" is listed twice`},
		{"a, a", nil, `column "a" is listed twice`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseColumnList(tt.in)
			if tt.msg != "" {
				if !errors.Is(err, ErrUsage) || !strings.Contains(err.Error(), tt.msg) {
					t.Fatalf("err = %v, want ErrUsage containing %q", err, tt.msg)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("ParseColumnList(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

func FuzzParseColumnList(f *testing.F) {
	for _, s := range []string{"", "a", "a,b, c", "a,,b", "a,a", " x ,y", "é,\u00a0b", ",", "a,\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		names, err := ParseColumnList(s)
		if err != nil {
			if !errors.Is(err, ErrUsage) {
				t.Fatalf("error %v does not wrap ErrUsage", err)
			}
			return
		}
		if strings.TrimSpace(s) == "" {
			if names != nil {
				t.Fatalf("blank input gave %q", names)
			}
			return
		}
		seen := map[string]bool{}
		for _, n := range names {
			if n == "" || n != strings.TrimSpace(n) || strings.Contains(n, ",") {
				t.Fatalf("bad name %q from %q", n, s)
			}
			if seen[n] {
				t.Fatalf("duplicate %q from %q", n, s)
			}
			seen[n] = true
		}
		if len(names) != strings.Count(s, ",")+1 {
			t.Fatalf("%d names from %q", len(names), s)
		}
		again, err := ParseColumnList(strings.Join(names, ","))
		if err != nil || !reflect.DeepEqual(again, names) {
			t.Fatalf("round trip of %q: %q, %v", names, again, err)
		}
	})
}
