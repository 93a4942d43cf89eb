package jobs

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	pq "github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/vaejob/vaejob/onnx"
	"github.com/vaejob/vaejob/pipeline"
)

// explainModel returns a squared-error model on a, b and c whose
// reconstruction is 0.3 in scaled units for every row, with the scaler
// offsets 1, 10, 100 and scales 1, 0.5, 0.1: the values it expects are
// 1.3, 10.6 and 103.
func explainModel() *pipeline.Model {
	m := centreModel([]string{"a", "b", "c"}, 0.3, 0.05)
	m.Scaler.Offset = []float32{1, 10, 100}
	m.Scaler.Scale = []float32{1, 0.5, 0.1}
	return m
}

// withConstantB returns explainModel with b a constant feature (the
// value 10, departure scale 0.1) the network does not see.
func withConstantB(t *testing.T) *pipeline.Model {
	t.Helper()
	net := centreModel([]string{"a", "c"}, 0.3, 0.05)
	m, err := pipeline.WithConstantFeatures(net, []string{"a", "b", "c"}, []int{1})
	if err != nil {
		t.Fatal(err)
	}
	m.Scaler = explainModel().Scaler
	m.Scaler.Scale[1] = 1 / pipeline.DepartureScale(10)
	return m
}

func TestExplainRow(t *testing.T) {
	nan := float32(math.NaN())
	type want struct {
		feature  string
		value    float64
		expected float64
		imputed  bool
		missing  bool
	}
	cases := []struct {
		name  string
		model func(t *testing.T) *pipeline.Model
		k     int
		x     []float32
		want  []want
	}{
		{"largest first", func(*testing.T) *pipeline.Model { return explainModel() }, 2, []float32{1.3, 14, 103},
			[]want{{"b", 14, 10.6, false, false}, {"a", 1.3, 1.3, false, false}}},
		{"equal shares in feature order", func(*testing.T) *pipeline.Model { return centreModel([]string{"a", "b", "c"}, 0.3, 0.05) }, 3, []float32{0.8, 0.8, 0.8},
			[]want{{"a", 0.8, 0.3, false, false}, {"b", 0.8, 0.3, false, false}, {"c", 0.8, 0.3, false, false}}},
		{"missing without imputation", func(*testing.T) *pipeline.Model { return explainModel() }, 1, []float32{nan, 14, nan},
			[]want{{"a", 0, 0, false, true}, {"c", 0, 0, false, true}}},
		{"imputed", func(*testing.T) *pipeline.Model {
			m := explainModel()
			m.Imputation = []float32{5, 10, 100}
			return m
		}, 1, []float32{nan, 10.6, 103},
			// a is imputed as 5, (5-1)·1 - 0.3 off its reconstruction:
			// the largest share.
			[]want{{"a", 0, 1.3, true, false}}},
		{"constant feature expects its constant", withConstantB, 1, []float32{1.3, 11, 103},
			[]want{{"b", 11, 10, false, false}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := c.model(t)
			e := newExplainer(m, c.k)
			parts := m.ExplainParts(c.x)
			got := e.explain(c.x, parts.Features, parts.Recon, parts.Scores[0])
			if len(got) != len(c.want) {
				t.Fatalf("explained %+v, want %+v", got, c.want)
			}
			for i, w := range c.want {
				g := got[i]
				near := func(a, b float64) bool { return a == b || math.Abs(a-b) < 1e-5*max(1, math.Abs(b)) }
				switch {
				case g.Feature != w.feature || g.Imputed != w.imputed || g.Missing != w.missing:
					t.Errorf("entry %d = %+v, want %+v", i, g, w)
				case !w.missing && !near(g.Expected, w.expected):
					t.Errorf("entry %d expects %v, want %v", i, g.Expected, w.expected)
				case !w.missing && !w.imputed && !near(g.Value, w.value):
					t.Errorf("entry %d value %v, want %v", i, g.Value, w.value)
				case !w.missing && g.Share != parts.Features[slices.Index(m.Features, w.feature)]:
					t.Errorf("entry %d share %v, want the feature's share", i, g.Share)
				}
			}
		})
	}
}

// TestCheckExplain: --explain takes 0 to the model's features.
func TestCheckExplain(t *testing.T) {
	for _, c := range []struct {
		k  int
		ok bool
	}{{0, true}, {1, true}, {3, true}, {4, false}, {-1, false}} {
		if err := checkExplain(c.k, 3); (err == nil) != c.ok {
			t.Errorf("--explain %d with 3 features: %v", c.k, err)
		}
	}
}

// TestScoreTailAndExplain scores a table into CSV with and without
// --explain: tail_probability is the tail table's reading of each score
// and the explain column holds the features with the largest shares, or
// the missing ones of a row that scores NaN.
func TestScoreTailAndExplain(t *testing.T) {
	dir := t.TempDir()
	m := explainModel()
	m.Tail = pipeline.NewTailTable(m.ScoreRows([]float32{1.3, 10.6, 103, 2, 11, 104, 3, 12, 105, 1, 10, 100}))
	input := filepath.Join(dir, "in.parquet")
	writeColumns(t, input, []string{"a", "b", "c"}, [][]float64{{1.3, 10.6, 103}, {2, 14, 103}, {math.NaN(), 10.6, 90}, {9, 10, 100}})
	model := writeModelFile(t, filepath.Join(dir, "model.onnx"), m)
	var plain []string // the score column without --explain
	for _, k := range []int{0, 2} {
		out := filepath.Join(dir, "scores.csv")
		res, err := Score(context.Background(), ScoreOptions{Model: model, Input: input, Output: out, Explain: k})
		if err != nil {
			t.Fatal(err)
		}
		if res.NoTail {
			t.Error("NoTail for a model with a tail table")
		}
		recs := readCSVFile(t, out)
		wantHeader := "score,is_anomaly,tail_probability"
		if k > 0 {
			wantHeader += ",explain"
		}
		if got := strings.Join(recs[0], ","); got != wantHeader {
			t.Fatalf("--explain %d: header %s, want %s", k, got, wantHeader)
		}
		for i, r := range recs[1:] {
			if k == 0 {
				plain = append(plain, r[0])
			} else if r[0] != plain[i] {
				t.Errorf("row %d: score %s with --explain, %s without", i, r[0], plain[i])
			}
			score, _ := strconv.ParseFloat(r[0], 32)
			want := strconv.FormatFloat(float64(m.Tail.Probability(float32(score))), 'g', -1, 32)
			if r[2] != want {
				t.Errorf("row %d: tail %q, want %q", i, r[2], want)
			}
			if k > 0 && i == 2 && r[3] != "a=missing" {
				t.Errorf("row %d (a missing): explain %q, want a=missing", i, r[3])
			}
			if k > 0 && i == 1 && !strings.HasPrefix(r[3], "b=14 (expected 10.6, share ") {
				t.Errorf("row %d: explain %q, want b first", i, r[3])
			}
		}
	}
}

// TestScoreModelWithoutTail scores with a model of format version 3,
// which has no tail table: tail_probability is null in Parquet and empty
// in CSV, never a made-up 1, and the result says so.
func TestScoreModelWithoutTail(t *testing.T) {
	dir := t.TempDir()
	input := filepath.Join(dir, "in.parquet")
	writeColumns(t, input, []string{"f0", "f1", "f2"}, [][]float64{{0, 0, 0}, {1, 2, 3}, {math.NaN(), 0, 0}})
	for _, name := range []string{"scores.csv", "scores.parquet"} {
		out := filepath.Join(dir, name)
		res, err := Score(context.Background(), ScoreOptions{Model: filepath.Join("..", "onnx", "testdata", "tiny_v3.onnx"), Input: input, Output: out, Explain: 1})
		if err != nil {
			t.Fatal(err)
		}
		if !res.NoTail || res.Rows != 3 {
			t.Errorf("%s: %+v, want NoTail and 3 rows", name, res)
		}
		if name == "scores.csv" {
			for i, r := range readCSVFile(t, out)[1:] {
				if r[2] != "" {
					t.Errorf("row %d: tail %q, want empty", i, r[2])
				}
			}
			continue
		}
		tail := readParquetColumn(t, out, "tail_probability")
		if tail.NullN() != tail.Len() || tail.Len() != 3 {
			t.Errorf("tail_probability %v, want 3 nulls", tail)
		}
	}
}

// readParquetColumn reads one column of a Parquet file.
func readParquetColumn(t *testing.T, path, name string) arrow.Array {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tbl, err := pqarrow.ReadTable(context.Background(), f, nil, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
	if err != nil {
		t.Fatal(err)
	}
	idx := tbl.Schema().FieldIndices(name)
	if len(idx) != 1 {
		t.Fatalf("%s has no column %s", path, name)
	}
	return array.NewChunkedSlice(tbl.Column(idx[0]).Data(), 0, tbl.NumRows()).Chunk(0)
}

// writeColumns writes rows of the named float64 features (NaN: null) as
// Parquet.
func writeColumns(t *testing.T, path string, names []string, rows [][]float64) {
	t.Helper()
	mem := memory.DefaultAllocator
	var fields []arrow.Field
	var cols []arrow.Array
	for j, name := range names {
		b := array.NewFloat64Builder(mem)
		for _, r := range rows {
			if math.IsNaN(r[j]) {
				b.AppendNull()
			} else {
				b.Append(r[j])
			}
		}
		fields = append(fields, arrow.Field{Name: name, Type: arrow.PrimitiveTypes.Float64, Nullable: true})
		cols = append(cols, b.NewArray())
	}
	rec := array.NewRecord(arrow.NewSchema(fields, nil), cols, int64(len(rows)))
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := pqarrow.WriteTable(array.NewTableFromRecords(rec.Schema(), []arrow.Record{rec}), f, 1024, pq.NewWriterProperties(), pqarrow.DefaultWriterProps()); err != nil {
		t.Fatal(err)
	}
}

// writeModelFile writes m, with a test vector, as model.onnx at path and
// returns path.
func writeModelFile(t *testing.T, path string, m *pipeline.Model) string {
	t.Helper()
	data, err := onnx.Encode(withTestVector(m))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}
