package parquet

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

func TestSniffFormat(t *testing.T) {
	for _, tc := range []struct {
		name string
		head []byte
		want Format
		err  error
	}{
		{"empty", nil, 0, ErrBadInput},
		{"Parquet", []byte("PAR1\x15\x04"), 0, ErrUsage},
		{"encrypted Parquet", []byte("PARE\x15\x04"), 0, ErrUsage},
		{"Arrow stream", []byte{0xff, 0xff, 0xff, 0xff, 0x10, 0x01, 0, 0}, Arrow, nil},
		{"Arrow stream, legacy length", []byte{0x10, 0x01, 0, 0, 0x0c, 0}, Arrow, nil},
		{"Arrow file", []byte("ARROW1\x00\x00\xff\xff"), Arrow, nil},
		{"CSV", []byte("id,a,b\n1,2,3\n"), CSV, nil},
		{"one byte of CSV", []byte("a"), CSV, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := bufio.NewReader(bytes.NewReader(tc.head))
			got, err := SniffFormat(r)
			if !errors.Is(err, tc.err) || (err == nil && got != tc.want) {
				t.Fatalf("got %v, %v; want %v, %v", got, err, tc.want, tc.err)
			}
			if rest, _ := io.ReadAll(r); !bytes.Equal(rest, tc.head) {
				t.Errorf("sniffing consumed bytes: %q left of %q", rest, tc.head)
			}
		})
	}
}

// streamBatch is what a test keeps of a streamed batch.
type streamBatch struct {
	x    []float32
	kept []string // the first kept column, as text
}

// readAllStream reads r as ReadStream does and returns its batches.
func readAllStream(t *testing.T, r io.Reader, format Format, sel Selection) ([]streamBatch, *Table, error) {
	t.Helper()
	var out []streamBatch
	tbl, err := ReadStream(context.Background(), r, format, sel, func(b *Batch) error {
		x, err := b.Features(nil)
		if err != nil {
			return err
		}
		sb := streamBatch{x: x}
		if len(b.Kept) > 0 {
			for i := range b.Rows {
				sb.kept = append(sb.kept, b.Kept[0].ValueStr(i))
			}
		}
		out = append(out, sb)
		return nil
	})
	return out, tbl, err
}

// TestReadStreamCSV: the features are found by name in any order and
// parsed as numbers (an empty cell is missing: NaN), the kept columns are
// text, batches hold csvBatchRows rows; every fault is an error that says
// where.
func TestReadStreamCSV(t *testing.T) {
	sel := Selection{Features: []string{"a", "b"}, Keep: []string{"id"}, AllowMissing: true}
	in := "\ufeffb,id,a,note\n2, x1,1,hello\n, x2 ,-1.5e3,\"a, b\"\n3,x3,NaN,\n"
	batches, tbl, err := readAllStream(t, strings.NewReader(in), CSV, sel)
	if err != nil {
		t.Fatal(err)
	}
	if len(batches) != 1 || tbl.Rows != 3 || !slices.Equal(tbl.Names, []string{"a", "b"}) {
		t.Fatalf("%d batches, %d rows, features %v", len(batches), tbl.Rows, tbl.Names)
	}
	nan := float32(math.NaN())
	want := []float32{1, 2, -1500, nan, nan, 3}
	if !slices.EqualFunc(batches[0].x, want, func(a, b float32) bool { return a == b || (a != a && b != b) }) {
		t.Errorf("features %v, want %v", batches[0].x, want)
	}
	if !slices.Equal(batches[0].kept, []string{" x1", " x2 ", "x3"}) {
		t.Errorf("kept %q: the text as it was written", batches[0].kept)
	}

	var big strings.Builder
	big.WriteString("a,b,id\n")
	n := csvBatchRows*2 + 5
	for i := range n {
		fmt.Fprintf(&big, "%d,%d,r%d\n", i, -i, i)
	}
	batches, tbl, err = readAllStream(t, strings.NewReader(big.String()), CSV, sel)
	if err != nil || len(batches) != 3 || tbl.Rows != n || batches[2].kept[4] != "r"+strconv.Itoa(n-1) {
		t.Fatalf("%d rows: %d batches, %v", n, len(batches), err)
	}

	// A byte-order mark before a quoted header, as DuckDB writes with
	// FORCE_QUOTE and Excel-minded tools put first: the mark is not part
	// of the first name, nor a quote out of place.
	batches, _, err = readAllStream(t, strings.NewReader("\ufeff\"a\",\"b\",\"id\"\r\n\"1\",\"2\",\"x\"\r\n"), CSV, sel)
	if err != nil || len(batches) != 1 || batches[0].x[0] != 1 || batches[0].kept[0] != "x" {
		t.Fatalf("a byte-order mark before a quoted header: %d batches, %v", len(batches), err)
	}

	batches, tbl, err = readAllStream(t, strings.NewReader("id,b,a\n"), CSV, sel)
	if err != nil || len(batches) != 0 || tbl.Rows != 0 || tbl.Kept.Schema().Field(0).Name != "id" {
		t.Fatalf("a header alone: %d batches, %v", len(batches), err)
	}

	for _, tc := range []struct {
		name, in string
		sel      Selection
		err      error
		says     string
	}{
		{"empty", "", sel, ErrBadInput, "the CSV stream is empty"},
		{"no feature column", "a,id\n1,x\n", sel, ErrBadInput, `"b"`},
		{"no kept column", "a,b\n1,2\n", sel, ErrBadInput, `"id"`},
		{"not a number", "a,b,id\n1,2,x\n1,two,y\n", sel, ErrBadInput, `line 3, column "b": "two" is not a number`},
		{"a long cell", "a,b,id\n1," + strings.Repeat("é", 50) + ",y\n", sel, ErrBadInput, "…\" is not a number"},
		{"ragged", "a,b,id\n1,2\n", sel, ErrBadInput, "malformed"},
		{"a bare quote", "a,b,id\n1,2,x\"y\n", sel, ErrBadInput, "malformed"},
		{"features not named", "a,b\n1,2\n", Selection{}, ErrUsage, "needs its features named"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := readAllStream(t, strings.NewReader(tc.in), CSV, tc.sel)
			if !errors.Is(err, tc.err) || !strings.Contains(fmt.Sprint(err), tc.says) {
				t.Fatalf("got %v, want %v saying %q", err, tc.err, tc.says)
			}
		})
	}
}

// writeStreamIPC writes batches of the features a and b and a string id as an
// Arrow IPC stream, or file.
func writeStreamIPC(t *testing.T, asFile bool, sizes ...int) []byte {
	t.Helper()
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.BinaryTypes.String},
		{Name: "a", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "b", Type: arrow.PrimitiveTypes.Int32},
	}, nil)
	var buf bytes.Buffer
	var w interface {
		Write(arrow.Record) error
		Close() error
	}
	if asFile {
		fw, err := ipc.NewFileWriter(&buf, ipc.WithSchema(schema))
		if err != nil {
			t.Fatal(err)
		}
		w = fw
	} else {
		w = ipc.NewWriter(&buf, ipc.WithSchema(schema))
	}
	row := 0
	for _, n := range sizes {
		b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
		for range n {
			b.Field(0).(*array.StringBuilder).Append("r" + strconv.Itoa(row))
			if row%3 == 1 {
				b.Field(1).AppendNull()
			} else {
				b.Field(1).(*array.Float64Builder).Append(float64(row) / 4)
			}
			b.Field(2).(*array.Int32Builder).Append(int32(-row))
			row++
		}
		rec := b.NewRecord()
		if err := w.Write(rec); err != nil {
			t.Fatal(err)
		}
		rec.Release()
		b.Release()
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestReadStreamArrow: an Arrow IPC stream's record batches come out in
// order, one batch each, and so do an Arrow IPC file's read as a stream;
// a stream cut short is bad input; Parquet is refused as a usage error.
func TestReadStreamArrow(t *testing.T) {
	sel := Selection{Features: []string{"a", "b"}, Keep: []string{"id"}, AllowMissing: true}
	for _, asFile := range []bool{false, true} {
		data := writeStreamIPC(t, asFile, 3, 0, 5, 1)
		format, err := SniffFormat(bufio.NewReader(bytes.NewReader(data)))
		if err != nil || format != Arrow {
			t.Fatalf("file %v: sniffed %v, %v", asFile, format, err)
		}
		batches, tbl, err := readAllStream(t, bytes.NewReader(data), Arrow, sel)
		if err != nil {
			t.Fatalf("file %v: %v", asFile, err)
		}
		if len(batches) != 3 || tbl.Rows != 9 {
			t.Fatalf("file %v: %d batches of %d rows; want 3 (the empty one skipped) of 9", asFile, len(batches), tbl.Rows)
		}
		row := 0
		for _, b := range batches {
			for i, id := range b.kept {
				a, bv := b.x[2*i], b.x[2*i+1]
				wantA := float32(row) / 4
				if row%3 == 1 {
					wantA = float32(math.NaN())
				}
				if id != "r"+strconv.Itoa(row) || bv != float32(-row) || (a != wantA && !(a != a && wantA != wantA)) {
					t.Fatalf("file %v: row %d reads %s, %v, %v", asFile, row, id, a, bv)
				}
				row++
			}
		}
	}
	data := writeStreamIPC(t, false, 4, 4)
	if _, _, err := readAllStream(t, bytes.NewReader(data[:len(data)-60]), Arrow, sel); !errors.Is(err, ErrBadInput) {
		t.Errorf("a stream cut short: %v, want ErrBadInput", err)
	}
	if _, _, err := readAllStream(t, bytes.NewReader(data[:3]), Arrow, sel); !errors.Is(err, ErrBadInput) {
		t.Errorf("a stream cut before its schema: %v, want ErrBadInput", err)
	}
	if _, _, err := readAllStream(t, bytes.NewReader(data), Parquet, sel); !errors.Is(err, ErrUsage) {
		t.Errorf("Parquet: %v, want ErrUsage", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := ReadStream(ctx, bytes.NewReader(data), Arrow, sel, func(*Batch) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

// FuzzReadStreamCSV feeds the CSV stream reader arbitrary text: it must
// return an error wrapping ErrBadInput, or batches whose rows are the
// records encoding/csv reads, each feature the number its cell holds
// (NaN for an empty one) and each kept cell its text.
func FuzzReadStreamCSV(f *testing.F) {
	for _, seed := range []string{
		"a,b,id\n1,2,x\n",
		"b,a,id\n,3.5,\"q,\"\"u\"\"\"\n-Inf,1e400,y\n",
		"id,a,b\n",
		"a,b,id\n1,2\n",
		"\ufeffa,b,id\r\n0x1p-2,+7,z\r\n",
		"\ufeff\"a\",\"b\",\"id\"\n1,2,x\n",
		"a,a,b,id\n1,2,3,4\n",
		"",
	} {
		f.Add([]byte(seed))
	}
	sel := Selection{Features: []string{"a", "b"}, Keep: []string{"id"}, AllowMissing: true}
	f.Fuzz(func(t *testing.T, data []byte) {
		batches, _, err := readAllStream(t, bytes.NewReader(data), CSV, sel)
		if err != nil {
			if !errors.Is(err, ErrBadInput) {
				t.Fatalf("an error that is not bad input: %v", err)
			}
			return
		}
		cr := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(data, utf8BOM)))
		recs, err := cr.ReadAll()
		if err != nil || len(recs) == 0 {
			t.Fatalf("read although encoding/csv fails: %v", err)
		}
		col := func(name string) int { return slices.Index(recs[0], name) }
		ia, ib, iid := col("a"), col("b"), col("id")
		var got []float32
		var kept []string
		for _, b := range batches {
			got = append(got, b.x...)
			kept = append(kept, b.kept...)
		}
		if len(kept) != len(recs)-1 {
			t.Fatalf("%d rows read, encoding/csv reads %d", len(kept), len(recs)-1)
		}
		for r, rec := range recs[1:] {
			for j, c := range []int{ia, ib} {
				want := float32(math.NaN())
				if cell := strings.TrimSpace(rec[c]); cell != "" {
					v, _ := strconv.ParseFloat(cell, 64)
					want = float32(v)
				}
				if g := got[2*r+j]; g != want && !(g != g && want != want) {
					t.Fatalf("row %d, feature %d: %v, the cell %q holds %v", r, j, g, rec[c], want)
				}
			}
			if kept[r] != rec[iid] {
				t.Fatalf("row %d: kept %q, the cell holds %q", r, kept[r], rec[iid])
			}
		}
	})
}
