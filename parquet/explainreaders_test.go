package parquet

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// explainFixture returns the computed columns of a score file of four
// rows: an explained row, a row with an imputed value, a row that scores
// NaN (its missing features, no shares) and a row with nothing to
// explain.
func explainFixture() ScoreRows {
	nan := float32(math.NaN())
	return ScoreRows{
		Score:     []float32{0.5, 1.25, nan, 0.125},
		IsAnomaly: []bool{false, true, true, false},
		Tail:      []float32{0.5, 0.0078125, 0, 1},
		Explain: [][]Explanation{
			{{Feature: "mean_area", Share: 0.41, Value: 2501, Expected: 655.5}, {Feature: "b", Share: 0.03125, Value: -1.5, Expected: 0.1}},
			{{Feature: "c", Share: 1.1, Expected: 3.25, Imputed: true}},
			{{Feature: "a", Missing: true}, {Feature: "c", Missing: true}},
			{},
		},
	}
}

// explainWant returns, per optional column, the canonical values (see
// canonical) readers must give back for rows.
func explainWant(rows ScoreRows) map[string][]*string {
	list := func(items []any) *string {
		b, _ := json.Marshal(items)
		s := string(b)
		return &s
	}
	num := func(v float64, null bool) any {
		if null || math.IsNaN(v) {
			return nil
		}
		return jsNumber(v)
	}
	want := map[string][]*string{}
	for r, ex := range rows.Explain {
		tail := jsNumber(float64(rows.Tail[r]))
		want[TailColumn] = append(want[TailColumn], &tail)
		cols := map[string][]any{}
		for _, e := range ex {
			cols[ExplainFeatureColumn] = append(cols[ExplainFeatureColumn], e.Feature)
			cols[ExplainShareColumn] = append(cols[ExplainShareColumn], num(float64(e.Share), e.Missing))
			cols[ExplainValueColumn] = append(cols[ExplainValueColumn], num(e.Value, e.Missing || e.Imputed))
			cols[ExplainExpectedColumn] = append(cols[ExplainExpectedColumn], num(e.Expected, e.Missing))
			cols[ExplainImputedColumn] = append(cols[ExplainImputedColumn], strconv.FormatBool(e.Imputed))
		}
		for _, f := range explainLists {
			items := cols[f.Name]
			if items == nil {
				items = []any{}
			}
			want[f.Name] = append(want[f.Name], list(items))
		}
	}
	return want
}

// explainReaderTypes is, per optional column and per reader (in the order
// of readerNames), the type the reader reports: each reader's list of the
// element type written (hyparquet reports the Parquet LIST group).
var explainReaderTypes = []struct {
	column string
	types  [4]string
}{
	{TailColumn, [4]string{`FLOAT`, `Float32`, `Float32`, `FLOAT`}},
	{ExplainFeatureColumn, [4]string{`VARCHAR[]`, `List(DataType(String))`, `List<Utf8>`, `LIST {"type":"LIST"}`}},
	{ExplainShareColumn, [4]string{`FLOAT[]`, `List(DataType(Float32))`, `List<Float32>`, `LIST {"type":"LIST"}`}},
	{ExplainValueColumn, [4]string{`DOUBLE[]`, `List(DataType(Float64))`, `List<Float64>`, `LIST {"type":"LIST"}`}},
	{ExplainExpectedColumn, [4]string{`DOUBLE[]`, `List(DataType(Float64))`, `List<Float64>`, `LIST {"type":"LIST"}`}},
	{ExplainImputedColumn, [4]string{`BOOLEAN[]`, `List(DataType(Bool))`, `List<Bool>`, `LIST {"type":"LIST"}`}},
}

// TestExplainColumnsReaders writes a score file with tail_probability and
// the explain list columns and reads it with DuckDB, Polars, parquet-wasm
// (arrow-rs) and hyparquet: every reader gets the types in
// explainReaderTypes and the values written, nulls inside the lists
// included. It skips when the readers are not installed,
// unless VAEJOB_REQUIRE_READERS=1.
func TestExplainColumnsReaders(t *testing.T) {
	requireReaders(t)
	rows := explainFixture()
	var buf bytes.Buffer
	sw, err := NewScoreWriterLayout(&buf, Parquet, nil, ScoreLayout{Tail: true, Explain: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := sw.WriteRows(nil, rows); err != nil {
		t.Fatal(err)
	}
	if err := sw.Close(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "scores.parquet")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	results, out := runReaders(t, path)
	want := explainWant(rows)
	if len(explainReaderTypes) != len(want) {
		t.Errorf("explainReaderTypes has %d columns, the file %d optional ones", len(explainReaderTypes), len(want))
	}
	for i, reader := range readerNames {
		t.Run(reader, func(t *testing.T) {
			res := results[reader]
			if res.Error != "" {
				t.Fatalf("%s failed: %s", reader, res.Error)
			}
			for _, rt := range explainReaderTypes {
				if got := res.Types[rt.column]; got != rt.types[i] {
					t.Errorf("%s: type %q, want %q", rt.column, got, rt.types[i])
				}
			}
			for col, w := range want {
				if got := res.Values[col]; !reflect.DeepEqual(got, w) {
					t.Errorf("%s (%s): %s, wrote %s", col, res.Types[col], showAll(got), showAll(w))
				}
			}
		})
	}
	if t.Failed() {
		t.Logf("read.mjs printed:\n%s", out)
	}
}

// TestExplainColumnsRoundTrip writes the optional columns to Parquet and
// CSV and reads them back: the Parquet lists with their types and values,
// the CSV explain column as ExplainText.
func TestExplainColumnsRoundTrip(t *testing.T) {
	rows := explainFixture()
	for _, format := range []Format{Parquet, CSV} {
		var buf bytes.Buffer
		sw, err := NewScoreWriterLayout(&buf, format, []arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64}}, ScoreLayout{Tail: true, Explain: true})
		if err != nil {
			t.Fatal(err)
		}
		ids := int64Array(0, 1, 2, 3)
		if err := sw.WriteRows([]arrow.Array{ids}, rows); err != nil {
			t.Fatal(err)
		}
		if err := sw.Close(); err != nil {
			t.Fatal(err)
		}
		if format == CSV {
			want := "id,score,is_anomaly,tail_probability,explain\n" +
				`0,0.5,false,0.5,"mean_area=2501 (expected 655.5, share 0.41); b=-1.5 (expected 0.1, share 0.0312)"` + "\n" +
				`1,1.25,true,0.0078125,"c=missing, imputed (expected 3.25, share 1.1)"` + "\n" +
				`2,NaN,true,0,a=missing; c=missing` + "\n" +
				"3,0.125,false,1,\n"
			if got := buf.String(); got != want {
				t.Errorf("CSV:\n%s\nwant:\n%s", got, want)
			}
			continue
		}
		tbl, _ := readBack(t, buf.Bytes())
		want := explainWant(rows)
		for i := 2; i < int(tbl.NumCols()); i++ {
			c := tbl.Column(i)
			arr := single(c.Data().Chunks())
			if c.Name() == ScoreColumn || c.Name() == AnomalyColumn {
				continue
			}
			var got []*string
			for r := 0; r < arr.Len(); r++ {
				got = append(got, canonicalList(arr, r))
			}
			if !reflect.DeepEqual(got, want[c.Name()]) {
				t.Errorf("%s (%s): %s, wrote %s", c.Name(), c.DataType(), showAll(got), showAll(want[c.Name()]))
			}
		}
	}
}

// int64Array returns an int64 array of vs.
func int64Array(vs ...int64) arrow.Array {
	b := array.NewInt64Builder(memory.DefaultAllocator)
	defer b.Release()
	b.AppendValues(vs, nil)
	return b.NewArray()
}

// canonicalList is canonical, with a list rendered as the JSON array of
// its elements' canonical forms, as read.mjs renders lists.
func canonicalList(a arrow.Array, i int) *string {
	l, ok := a.(*array.List)
	if !ok || a.IsNull(i) {
		return canonical(a, i)
	}
	lo, hi := l.ValueOffsets(i)
	items := []any{}
	for k := lo; k < hi; k++ {
		if v := canonical(l.ListValues(), int(k)); v != nil {
			items = append(items, *v)
		} else {
			items = append(items, nil)
		}
	}
	b, _ := json.Marshal(items)
	s := string(b)
	return &s
}

// TestScoreLayoutNameClash: a kept column named like an output column of
// the layout is refused (ErrUsage); one the layout does not write is not.
func TestScoreLayoutNameClash(t *testing.T) {
	cases := []struct {
		kept   string
		layout ScoreLayout
		format Format
		clash  bool
	}{
		{TailColumn, ScoreLayout{Tail: true}, Parquet, true},
		{TailColumn, ScoreLayout{}, Parquet, false},
		{ExplainShareColumn, ScoreLayout{Explain: true}, Parquet, true},
		{ExplainShareColumn, ScoreLayout{Explain: true}, CSV, false},
		{ExplainColumn, ScoreLayout{Explain: true}, CSV, true},
		{ExplainColumn, ScoreLayout{Explain: true}, Parquet, false},
	}
	for _, c := range cases {
		var buf bytes.Buffer
		_, err := NewScoreWriterLayout(&buf, c.format, []arrow.Field{{Name: c.kept, Type: arrow.PrimitiveTypes.Int64}}, c.layout)
		if c.clash != errors.Is(err, ErrUsage) || !c.clash && err != nil {
			t.Errorf("kept %s, layout %+v, %s: %v", c.kept, c.layout, c.format, err)
		}
	}
}
