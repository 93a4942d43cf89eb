package jobs

import (
	"errors"
	"maps"
	"strings"
	"testing"
)

var testKnown = []string{"input", "out", "epochs", "features", "learning-rate", "allow-schema-change"}

func TestParseConfig(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		want       map[string]string
		err        string // a part of the error; "" for none
	}{
		{"empty", "", map[string]string{}, ""},
		{"comment only", "# nothing yet\n", map[string]string{}, ""},
		{"scalars", "input: /data/x.parquet\nepochs: 50\nlearning-rate: 1e-3\nallow-schema-change: true\n",
			map[string]string{"input": "/data/x.parquet", "epochs": "50", "learning-rate": "1e-3", "allow-schema-change": "true"}, ""},
		{"list", "features: [a, b, c]\n", map[string]string{"features": "a,b,c"}, ""},
		{"block list", "features:\n  - a\n  - b\n", map[string]string{"features": "a,b"}, ""},
		{"quoted", "out: 'runs dir'\n", map[string]string{"out": "runs dir"}, ""},
		{"unknown key", "epoch: 5\n", nil, `unknown setting "epoch" (did you mean "epochs"?)`},
		{"snake case", "learning_rate: 0.1\n", nil, `did you mean "learning-rate"?`},
		{"far off key", "colour: blue\n", nil, "see vaejob train --help"},
		{"duplicate", "epochs: 5\nepochs: 6\n", nil, `"epochs" is set twice`},
		{"nested", "input:\n  path: x\n", nil, "found a mapping"},
		{"null value", "epochs:\n", nil, "no value"},
		{"comma in list item", "features: ['a,b', c]\n", nil, "holds a comma"},
		{"not a mapping", "- input\n", nil, "want a mapping"},
		{"two documents", "epochs: 1\n---\nepochs: 2\n", nil, "more than one YAML document"},
		{"bad yaml", "epochs: [1\n", nil, "not valid YAML"},
		{"alias", "out: &o x\ninput: *o\n", nil, "aliases"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseConfig([]byte(tc.yaml), testKnown)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) || !errors.Is(err, ErrUsage) {
					t.Fatalf("error %v, want a usage error containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !maps.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

// FuzzParseConfig feeds arbitrary bytes to the config parser: it must not
// panic, and whatever it accepts holds only known keys.
func FuzzParseConfig(f *testing.F) {
	for _, s := range []string{"", "input: x\nepochs: 5\n", "features: [a, b]\n", "- 1\n", "a: {b: c}\n", "out: &x y\ninput: *x\n", "epochs: !!binary aGk=\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseConfig(data, testKnown)
		if err != nil {
			if !errors.Is(err, ErrUsage) {
				t.Fatalf("error %v does not wrap ErrUsage", err)
			}
			return
		}
		for k := range m {
			found := false
			for _, known := range testKnown {
				found = found || k == known
			}
			if !found {
				t.Fatalf("accepted unknown key %q", k)
			}
		}
	})
}
