package main

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vaejob/vaejob/onnx"
)

// TestDamagedModelRefused trains the demo model, inverts 16 bytes of its
// first encoder layer's weights (the file still decodes: only the numbers
// changed), and expects score and evaluate to refuse it with exit 7 and
// nothing written, as verify does. Files that are not vaejob models (text,
// a Parquet file, an empty file, a truncated model, random bytes) are exit
// 3 for all three; the healthy model is used as before.
func TestDamagedModelRefused(t *testing.T) {
	out := t.TempDir()
	if r := vaejob(t, trainArgs(demo, out, "--exclude", "patient_id,diagnosis", "--run-id", "d1")...); r.code != 0 {
		t.Fatalf("train exit %d:\n%s", r.code, r.stderr)
	}
	healthy := filepath.Join(out, "runs", "d1", "model.onnx")
	data, err := os.ReadFile(healthy)
	if err != nil {
		t.Fatal(err)
	}
	m, _, err := onnx.Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	var pattern []byte
	for _, w := range m.Encoder[0].W[:4] {
		pattern = binary.LittleEndian.AppendUint32(pattern, math.Float32bits(w))
	}
	if n := bytes.Count(data, pattern); n != 1 {
		t.Fatalf("the first weights' bytes occur %d times in the model file, want once", n)
	}
	damagedBytes := bytes.Clone(data)
	at := bytes.Index(data, pattern)
	for i := at; i < at+len(pattern); i++ {
		damagedBytes[i] ^= 0xFF
	}
	if _, _, err := onnx.Decode(damagedBytes); err != nil {
		t.Fatalf("the damaged model no longer decodes, so this tests nothing new: %v", err)
	}
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	table, err := os.ReadFile(demo)
	if err != nil {
		t.Fatal(err)
	}
	damaged := write("damaged.onnx", damagedBytes)
	notModels := []struct{ name, path string }{
		{"text", write("notes.onnx", []byte("model: the one from Tuesday\n"))},
		{"parquet", write("table.onnx", table)},
		{"empty", write("empty.onnx", nil)},
		{"truncated", write("truncated.onnx", data[:len(data)*2/3])},
		{"random bytes", write("random.onnx", randomBytes(4096))},
	}

	commands := []struct {
		name string
		args func(model, output string) []string
	}{
		{"score", func(model, output string) []string {
			return []string{"score", "--model", model, "--input", demo, "--output", output}
		}},
		{"evaluate", func(model, _ string) []string {
			return []string{"evaluate", "--model", model, "--input", demo, "--label-column", "diagnosis", "--normal-value", "benign"}
		}},
		{"verify", func(model, _ string) []string { return []string{"verify", "--model", model} }},
	}
	type modelCase struct {
		name, path string
		code       int
		says       string
	}
	cases := []modelCase{{"damaged", damaged, 7, "the model file is damaged"}}
	for _, nm := range notModels {
		cases = append(cases, modelCase{nm.name, nm.path, 3, "not a vaejob model"})
	}
	for _, c := range commands {
		for _, tc := range cases {
			t.Run(c.name+"/"+tc.name, func(t *testing.T) {
				output := filepath.Join(t.TempDir(), "scores.parquet")
				r := vaejob(t, c.args(tc.path, output)...)
				if r.code != tc.code {
					t.Fatalf("exit %d, want %d:\n%s%s", r.code, tc.code, r.stdout, r.stderr)
				}
				if !strings.Contains(r.stderr, tc.says) || !strings.Contains(r.stderr, tc.path) {
					t.Errorf("stderr does not say %q about %s:\n%s", tc.says, tc.path, r.stderr)
				}
				if _, err := os.Stat(output); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("%s wrote its output for a refused model (%v)", c.name, err)
				}
			})
		}
		t.Run(c.name+"/healthy", func(t *testing.T) {
			output := filepath.Join(t.TempDir(), "scores.parquet")
			if r := vaejob(t, c.args(healthy, output)...); r.code != 0 {
				t.Fatalf("exit %d:\n%s%s", r.code, r.stdout, r.stderr)
			}
			if _, err := os.Stat(output); c.name == "score" && err != nil {
				t.Errorf("score wrote no output: %v", err)
			}
		})
	}
}

// randomBytes returns n bytes from a seeded generator.
func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.New(rand.NewSource(13)).Read(b)
	return b
}
