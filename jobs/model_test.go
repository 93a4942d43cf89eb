package jobs

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/csv"
	"errors"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/vaejob/vaejob/onnx"
	"github.com/vaejob/vaejob/pipeline"
)

// withTestVector returns m and metadata carrying a test vector for it, as
// train writes one, for onnx.Encode(withTestVector(m)).
func withTestVector(m *pipeline.Model) (*pipeline.Model, onnx.Metadata) {
	return m, onnx.Metadata{TestVector: pipeline.MakeTestVector(m, rand.New(rand.NewSource(1)), testVectorRows)}
}

// weightedModel returns a model on features a and b whose every layer has
// nonzero weights that the score depends on, so that changing any of them
// changes the scores.
func weightedModel() *pipeline.Model {
	m := centreModel([]string{"a", "b"}, 0.3, 0.05)
	rng := rand.New(rand.NewSource(7))
	m.Encoder[0] = pipeline.Dense{In: 2, Out: 4, W: make([]float32, 8), B: make([]float32, 4), Activation: pipeline.ReLU}
	m.Mu = pipeline.Dense{In: 4, Out: 2, W: make([]float32, 8), B: make([]float32, 2), Activation: pipeline.Identity}
	m.LogVar = pipeline.Dense{In: 4, Out: 2, W: make([]float32, 8), B: make([]float32, 2), Activation: pipeline.Identity}
	m.Decoder[0] = pipeline.Dense{In: 2, Out: 2, W: make([]float32, 4), B: []float32{0.3, 0.3}, Activation: pipeline.Identity}
	for _, l := range []*pipeline.Dense{&m.Encoder[0], &m.Mu, &m.Decoder[0]} {
		for i := range l.W {
			l.W[i] = float32(0.2 + 0.6*rng.Float64())
		}
	}
	return m
}

// flipWeights returns data with the 16 bytes of w[0:4], which must occur
// once in data (the raw data of a weight initializer), inverted: the
// damage a bad disk block or a careless edit does to a model file.
func flipWeights(t *testing.T, data []byte, w []float32) []byte {
	t.Helper()
	var pattern []byte
	for _, v := range w[:4] {
		pattern = binary.LittleEndian.AppendUint32(pattern, math.Float32bits(v))
	}
	if n := bytes.Count(data, pattern); n != 1 {
		t.Fatalf("the weights' bytes occur %d times in the model file, want once", n)
	}
	i := bytes.Index(data, pattern)
	damaged := bytes.Clone(data)
	for k := i; k < i+len(pattern); k++ {
		damaged[k] ^= 0xFF
	}
	return damaged
}

// modelFiles writes a healthy model, the same model with damaged weights,
// and files that are not vaejob models into dir; it returns the healthy
// and damaged paths and the others by name.
func modelFiles(t *testing.T, dir string) (healthy, damaged string, notModels map[string]string) {
	t.Helper()
	m := weightedModel()
	data, err := onnx.Encode(withTestVector(m))
	if err != nil {
		t.Fatal(err)
	}
	noTestVector, err := onnx.Encode(m, onnx.Metadata{})
	if err != nil {
		t.Fatal(err)
	}
	parquetFile := filepath.Join(dir, "table.parquet")
	writeScoreInput(t, parquetFile, 10, 10, arrow.BinaryTypes.String)
	table, err := os.ReadFile(parquetFile)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	healthy = write("model.onnx", data)
	damaged = write("damaged.onnx", flipWeights(t, data, m.Encoder[0].W))
	notModels = map[string]string{
		"text":           write("notes.onnx", []byte("this is not a model\n")),
		"parquet":        write("table.onnx", table),
		"empty":          write("empty.onnx", nil),
		"truncated":      write("truncated.onnx", data[:len(data)/2]),
		"no test vector": write("no-test-vector.onnx", noTestVector),
	}
	return healthy, damaged, notModels
}

// TestModelCheckedBeforeUse: score, evaluate and verify load every model
// through loadModel. A model whose weights were damaged after it was
// written fails its own test vector: each refuses it as damaged
// (ErrVerify), and score writes nothing. A file that is not a vaejob model
// (text, a Parquet file, an empty or truncated file, a model without a test
// vector) is bad input for all three. A healthy model is used.
func TestModelCheckedBeforeUse(t *testing.T) {
	dir := t.TempDir()
	healthy, damaged, notModels := modelFiles(t, dir)
	input := filepath.Join(dir, "in.parquet")
	writeScoreInput(t, input, 100, 50, arrow.BinaryTypes.String)
	ctx := context.Background()
	commands := []struct {
		name string
		run  func(model, output string) error
	}{
		{"score", func(model, output string) error {
			_, err := Score(ctx, ScoreOptions{Model: model, Input: input, Output: output})
			return err
		}},
		{"evaluate", func(model, _ string) error {
			_, err := Evaluate(ctx, EvaluateOptions{Model: model, Input: input, Labels: Labels{Column: "id", Normal: "r0"}})
			return err
		}},
		{"verify", func(model, _ string) error {
			_, err := Verify(ctx, VerifyOptions{Model: model})
			return err
		}},
	}
	cases := []struct {
		name, model string
		kind        error
		says        []string
	}{
		{"damaged", damaged, ErrVerify, []string{damaged, "the model file is damaged", "test vector", "re-publish or restore it"}},
	}
	for name, path := range notModels {
		cases = append(cases, struct {
			name, model string
			kind        error
			says        []string
		}{name, path, ErrBadInput, []string{path, "not a vaejob model"}})
	}
	for _, c := range commands {
		for _, tc := range cases {
			t.Run(c.name+"/"+tc.name, func(t *testing.T) {
				output := filepath.Join(t.TempDir(), "scores.parquet")
				err := c.run(tc.model, output)
				if !errors.Is(err, tc.kind) {
					t.Fatalf("err = %v, want %v", err, tc.kind)
				}
				if tc.kind == ErrBadInput && errors.Is(err, ErrVerify) {
					t.Errorf("err = %v is also %v", err, ErrVerify)
				}
				for _, s := range tc.says {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("message %q does not say %q", err, s)
					}
				}
				if _, err := os.Stat(output); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("output written (%v)", err)
				}
			})
		}
	}
	t.Run("healthy", func(t *testing.T) {
		output := filepath.Join(t.TempDir(), "scores.parquet")
		res, err := Score(ctx, ScoreOptions{Model: healthy, Input: input, Output: output})
		if err != nil || res.Rows != 100 {
			t.Fatalf("score: %+v, %v", res, err)
		}
		rep, err := Verify(ctx, VerifyOptions{Model: healthy})
		if err != nil || rep.TestVectorRows != testVectorRows {
			t.Fatalf("verify: %+v, %v", rep, err)
		}
	})
}

// TestLoadModelDamageNamesRows: the refusal of a damaged model says which
// test-vector rows score differently and by how much.
func TestLoadModelDamageNamesRows(t *testing.T) {
	_, damaged, _ := modelFiles(t, t.TempDir())
	_, err := loadModel(damaged)
	if !errors.Is(err, ErrVerify) {
		t.Fatalf("err = %v, want ErrVerify", err)
	}
	t.Log(err)
	for _, want := range []string{"of 4 rows", "row 0 scores", "recorded", "max abs error"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message %q does not say %q", err, want)
		}
	}
}

// writeCentreModel writes a two-feature model (a, b) with its test vector
// to dir/model.onnx and returns the path.
func writeCentreModel(t *testing.T, dir string) string {
	t.Helper()
	data, err := onnx.Encode(withTestVector(centreModel([]string{"a", "b"}, 0.3, 0.05)))
	if err != nil {
		t.Fatal(err)
	}
	model := filepath.Join(dir, "model.onnx")
	if err := os.WriteFile(model, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return model
}

// readCSVFile reads a CSV file whole.
func readCSVFile(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return recs
}
