package parquet

import (
	"bytes"
	"context"
	"math"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/decimal256"
	pq "github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/file"
)

// wasmColumns are the columns of the parquet-wasm fixtures: a double and
// an int32, and fixed-length decimals (FIXED_LEN_BYTE_ARRAY of 9 and 21
// bytes) and binaries that arrow-rs writes in DELTA_BYTE_ARRAY.
func wasmColumns() []col {
	n := 600
	x := make([]float64, n)
	k := make([]int32, n)
	var xNulls, decNulls []int
	dec := array.NewDecimal128Builder(mem, &arrow.Decimal128Type{Precision: 20, Scale: 3})
	defer dec.Release()
	dec256 := array.NewDecimal256Builder(mem, &arrow.Decimal256Type{Precision: 50, Scale: 5})
	defer dec256.Release()
	fsb := array.NewFixedSizeBinaryBuilder(mem, &arrow.FixedSizeBinaryType{ByteWidth: 16})
	defer fsb.Release()
	for i := range n {
		x[i] = math.Tan(float64(i)) * 10
		k[i] = int32(i*i) - 90_000
		if i%9 == 2 {
			xNulls = append(xNulls, i)
		}
		// Neighbouring values share leading bytes, so the prefixes of
		// DELTA_BYTE_ARRAY are used; some are negative.
		v := big.NewInt(int64(i/3)*1_000_000_007 - 200_000_000_000)
		if i%7 == 3 {
			decNulls = append(decNulls, i)
			dec.AppendNull()
		} else {
			dec.Append(decimal128.FromBigInt(v))
		}
		dec256.Append(decimal256.FromBigInt(new(big.Int).Mul(v, big.NewInt(1_000_000_000_000))))
		b := bytes.Repeat([]byte{byte(i / 50)}, 16)
		b[15] = byte(i)
		fsb.Append(b)
	}
	_ = decNulls
	return []col{
		{"x", f64s(x, xNulls...)},
		{"k", i32s(k)},
		{"dec", dec.NewArray()},
		{"dec256", dec256.NewArray()},
		{"fsb", fsb.NewArray()},
	}
}

// wasmFixture is one file parquet-wasm wrote (testdata/parquetwasm/write.mjs)
// and what its footer must show.
type wasmFixture struct {
	name      string
	codec     compress.Compression
	encodings map[string][]pq.Encoding // column: encodings that must appear
}

var wasmFixtures = []wasmFixture{
	{"flba_dictionary_then_delta_v2.parquet", compress.Codecs.Snappy, map[string][]pq.Encoding{
		"dec":    {pq.Encodings.DeltaByteArray, pq.Encodings.RLEDict},
		"dec256": {pq.Encodings.DeltaByteArray},
		"fsb":    {pq.Encodings.DeltaByteArray},
	}},
	{"flba_delta_v1.parquet", compress.Codecs.Zstd, map[string][]pq.Encoding{
		"dec": {pq.Encodings.DeltaByteArray}, "dec256": {pq.Encodings.DeltaByteArray}, "fsb": {pq.Encodings.DeltaByteArray},
	}},
	{"flba_delta_v2.parquet", compress.Codecs.Gzip, map[string][]pq.Encoding{
		"dec": {pq.Encodings.DeltaByteArray}, "dec256": {pq.Encodings.DeltaByteArray}, "fsb": {pq.Encodings.DeltaByteArray},
	}},
	{"hadoop_lz4.parquet", compress.Codecs.Lz4, nil},
	{"lz4_raw_byte_stream_split_v2.parquet", compress.Codecs.Lz4Raw, map[string][]pq.Encoding{
		"x": {pq.Encodings.ByteStreamSplit}, "k": {pq.Encodings.DeltaBinaryPacked}, "fsb": {pq.Encodings.ByteStreamSplit},
	}},
}

// TestReadParquetWasmFixtures reads files that a real writer, parquet-wasm
// (arrow-rs), made with options arrow-go cannot write: fixed-length
// decimals and binaries in DELTA_BYTE_ARRAY (alone and after a full
// dictionary), Hadoop-framed LZ4, and LZ4_RAW with BYTE_STREAM_SPLIT.
// With -update it rewrites them, running testdata/parquetwasm/write.mjs
// with the node_modules folder $VAEJOB_PARQUET_WASM, which holds
// parquet-wasm@0.7.1.
func TestReadParquetWasmFixtures(t *testing.T) {
	dir := filepath.Join("testdata", "parquetwasm")
	cols := wasmColumns()
	if *updateFixtures {
		nodePath := os.Getenv("VAEJOB_PARQUET_WASM")
		if nodePath == "" {
			t.Fatal("-update needs VAEJOB_PARQUET_WASM, a node_modules folder with parquet-wasm@0.7.1")
		}
		var buf bytes.Buffer
		writeIPC(t, &buf, true, cols)
		in := writeBytes(t, "in.arrows", buf.Bytes())
		cmd := exec.Command("node", filepath.Join(dir, "write.mjs"), nodePath, in, dir)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("write.mjs: %v\n%s", err, out)
		}
	}
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = c.name
	}
	for _, fx := range wasmFixtures {
		t.Run(fx.name, func(t *testing.T) {
			path := filepath.Join(dir, fx.name)
			checkWasmFooter(t, path, fx)
			for _, whole := range []int64{64 << 20, 0} {
				saved := wholeGroupBytes
				wholeGroupBytes = whole
				tbl, err := ReadTable(context.Background(), path, Selection{Features: []string{"x", "k", "dec", "dec256"}, Keep: names, AllowMissing: true})
				wholeGroupBytes = saved
				if err != nil {
					t.Fatalf("wholeGroupBytes %d: %v", whole, err)
				}
				checkTableAgainst(t, tbl, cols)
			}
			checkTableAgainst(t, streamTable(t, path, Selection{Features: []string{"x", "k", "dec", "dec256"}, Keep: names, AllowMissing: true}), cols)
		})
	}
}

// checkWasmFooter fails when a fixture lacks the codec or an encoding it
// was written to show.
func checkWasmFooter(t *testing.T, path string, fx wasmFixture) {
	t.Helper()
	r, err := file.OpenParquetFile(path, false)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	md := r.MetaData()
	if md.NumRowGroups() < 2 {
		t.Errorf("%d row groups, want several", md.NumRowGroups())
	}
	for name, want := range fx.encodings {
		leaf := md.Schema.ColumnIndexByName(name)
		var seen []pq.Encoding
		for rg := range md.NumRowGroups() {
			cc, err := md.RowGroup(rg).ColumnChunk(leaf)
			if err != nil {
				t.Fatal(err)
			}
			if cc.Compression() != fx.codec {
				t.Errorf("%s is compressed with %s, want %s", name, cc.Compression(), fx.codec)
			}
			seen = append(seen, cc.Encodings()...)
		}
		for _, e := range want {
			if !slices.Contains(seen, e) {
				t.Errorf("%s was written in %v, without %s", name, seen, e)
			}
		}
	}
	if cc, err := md.RowGroup(0).ColumnChunk(0); err != nil || cc.Compression() != fx.codec {
		t.Errorf("column 0 compressed with %v (%v), want %s", cc.Compression(), err, fx.codec)
	}
}

// checkTableAgainst compares the features and kept columns read with the
// columns written.
func checkTableAgainst(t *testing.T, tbl *Table, cols []col) {
	t.Helper()
	byName := map[string]arrow.Array{}
	for _, c := range cols {
		byName[c.name] = c.arr
	}
	if tbl.Rows != cols[0].arr.Len() {
		t.Fatalf("%d rows, want %d", tbl.Rows, cols[0].arr.Len())
	}
	for j, name := range tbl.Names {
		bad := 0
		for i := range tbl.Rows {
			got, want := tbl.Data[i*len(tbl.Names)+j], featureValue(byName[name], i)
			if got != want && !(math.IsNaN(float64(got)) && math.IsNaN(float64(want))) {
				if bad++; bad <= 3 {
					t.Errorf("feature %s, row %d = %v, want %v", name, i, got, want)
				}
			}
		}
	}
	for i, f := range tbl.Kept.Schema().Fields() {
		got, err := array.Concatenate(tbl.Kept.Column(i).Data().Chunks(), mem)
		if err != nil {
			t.Fatal(err)
		}
		want := byName[f.Name]
		if !arrow.TypeEqual(got.DataType(), want.DataType()) {
			t.Errorf("kept %s is %s, want %s", f.Name, got.DataType(), want.DataType())
		} else if !array.Equal(got, want) {
			t.Errorf("kept %s differs from what was written", f.Name)
		}
		got.Release()
	}
}

// streamTable reads path with StreamInputs (the read of vaejob score) and
// gathers the batches into a Table, for checkTableAgainst.
func streamTable(t *testing.T, path string, sel Selection) *Table {
	t.Helper()
	ins, err := ResolveInputs([]string{path})
	if err != nil {
		t.Fatal(err)
	}
	var data []float32
	var kept [][]arrow.Array
	var fields []arrow.Field
	rows := 0
	tbl, err := StreamInputs(context.Background(), ins, sel, ReadOptions{}, func(b *Batch) error {
		f, err := b.Features(nil)
		if err != nil {
			return err
		}
		data = append(data, f...)
		if kept == nil {
			kept, fields = make([][]arrow.Array, len(b.Kept)), b.KeptFields
		}
		for i, a := range b.Kept {
			a.Retain()
			kept[i] = append(kept[i], a)
		}
		rows += b.Rows
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	cols := make([]arrow.Column, len(fields))
	for i, f := range fields {
		ch := arrow.NewChunked(f.Type, kept[i])
		cols[i] = *arrow.NewColumn(f, ch)
		ch.Release()
	}
	tbl.Data, tbl.Rows = data, rows
	tbl.Kept = array.NewTable(arrow.NewSchema(fields, nil), cols, int64(rows))
	return tbl
}
