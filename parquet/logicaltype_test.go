package parquet

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	pq "github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/schema"
)

// withLogicalType rewrites the Parquet file at path so that its column
// named col, of logical type STRING, has the logical type numbered id
// instead (a member of the LogicalType union that a newer format may
// add), as a newer writer would write it.
func withLogicalType(t *testing.T, path, col string, id byte) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	n := int(binary.LittleEndian.Uint32(b[len(b)-8:]))
	data, footer := b[:len(b)-8-n], b[len(b)-8-n:len(b)-8]
	// The column's SchemaElement: its name (field 4), then its
	// LogicalType (field 10), a union whose member STRING (field 1) is
	// an empty struct: 0x1c 0x00, then the union's stop 0x00.
	at := bytes.Index(footer, append([]byte{byte(len(col))}, col...))
	if at < 0 {
		t.Fatalf("no column %q in the footer", col)
	}
	k := bytes.Index(footer[at:], []byte{0x1c, 0x00, 0x00})
	if k < 0 || footer[at+k-1]&0x0f != 0x0c {
		t.Fatalf("no STRING logical type after column %q in the footer", col)
	}
	k += at
	// The member's header in the long form: type struct, then the id as
	// a zigzag varint.
	patched := append(append(bytes.Clone(footer[:k]), 0x0c, id*2), footer[k+1:]...)
	out := append(append(bytes.Clone(data), patched...), binary.LittleEndian.AppendUint32(nil, uint32(len(patched)))...)
	if err := os.WriteFile(path, append(out, "PAR1"...), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestReadUnknownLogicalType reads a file with a column of a logical type
// the reader does not know: the error says so and names the column, for
// the file cannot be read even when the column is not selected; it is not
// called corrupt.
func TestReadUnknownLogicalType(t *testing.T) {
	path := filepath.Join(t.TempDir(), "newer.parquet")
	writeFormatFile(t, path, []col{{"x", f64s([]float64{1, 2, 3})}, {"note", strs([]string{"a", "b", "c"})}}, false)
	if _, err := ReadTable(context.Background(), path, Selection{Features: []string{"x"}}); err != nil {
		t.Fatalf("before the patch: %v", err)
	}
	withLogicalType(t, path, "note", 63)
	_, err := ReadTable(context.Background(), path, Selection{Features: []string{"x"}})
	if !errors.Is(err, ErrUnsupported) || !errors.Is(err, ErrBadInput) {
		t.Fatalf("err = %v, want ErrUnsupported and ErrBadInput", err)
	}
	for _, want := range []string{`column "note"`, "logical type number 63"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("err = %v, want it to say %s", err, want)
		}
	}
}

// TestSchemaFailureCorruptFooter checks that a schema panic in a file whose
// footer holds no unknown logical type is called corrupt.
func TestSchemaFailureCorruptFooter(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad.parquet")
	if err := os.WriteFile(path, append([]byte("PAR1\xff\xff\xff\xff\x04\x00\x00\x00"), "PAR1"...), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	err = schemaFailure(f, "boom")
	if !errors.Is(err, ErrBadInput) || errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "corrupt") {
		t.Fatalf("err = %v, want corrupt", err)
	}
}

// TestReadUndefinedPhysicalType reads a file whose footer gives a column a
// physical type number outside the format's closed set: damage, so
// corrupt, not unsupported.
func TestReadUndefinedPhysicalType(t *testing.T) {
	path := filepath.Join(t.TempDir(), "damaged.parquet")
	writeFormatFile(t, path, []col{{"x", f64s([]float64{1, 2, 3})}, {"y", f64s([]float64{1, 2, 3})}}, false)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	n := int(binary.LittleEndian.Uint32(b[len(b)-8:]))
	footer := b[len(b)-8-n : len(b)-8]
	// The column's SchemaElement starts with its type (field 1, an i32:
	// 0x15, then zigzag(DOUBLE = 5)) a few bytes before its name.
	at := bytes.Index(footer, []byte("\x01y"))
	k := bytes.LastIndex(footer[:at], []byte{0x15, 0x0a})
	if at < 0 || k < 0 {
		t.Fatal("no DOUBLE type before column y in the footer")
	}
	footer[k+1] = 13 // zigzag(-7)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = ReadTable(context.Background(), path, Selection{Features: []string{"x"}})
	if !errors.Is(err, ErrBadInput) || errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), `column "y"`) || !strings.Contains(err.Error(), "corrupt") {
		t.Fatalf("err = %v, want a corrupt footer naming column y", err)
	}
}

// TestReadUnconvertibleSchema reads a file whose schema arrow-go reads but
// cannot convert to Arrow types (a MAP whose keys may be null, which other
// writers allow): an unsupported-input error with arrow-go's cause.
func TestReadUnconvertibleSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "map.parquet")
	key := schema.MustPrimitive(schema.NewPrimitiveNode("key", pq.Repetitions.Optional, pq.Types.Int32, -1, -1))
	val := schema.MustPrimitive(schema.NewPrimitiveNode("value", pq.Repetitions.Optional, pq.Types.Int32, -1, -1))
	kv := schema.MustGroup(schema.NewGroupNode("key_value", pq.Repetitions.Repeated, schema.FieldList{key, val}, -1))
	m := schema.MustGroup(schema.NewGroupNodeLogical("m", pq.Repetitions.Optional, schema.FieldList{kv}, schema.MapLogicalType{}, -1))
	x := schema.MustPrimitive(schema.NewPrimitiveNode("x", pq.Repetitions.Required, pq.Types.Double, -1, -1))
	root := schema.MustGroup(schema.NewGroupNode("schema", pq.Repetitions.Required, schema.FieldList{x, m}, -1))
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := file.NewParquetWriter(f, root)
	rg := w.AppendRowGroup()
	for i := range 3 {
		cw, err := rg.NextColumn()
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			_, err = cw.(*file.Float64ColumnChunkWriter).WriteBatch([]float64{1, 2}, nil, nil)
		} else {
			_, err = cw.(*file.Int32ColumnChunkWriter).WriteBatch(nil, []int16{0, 0}, []int16{0, 0})
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := cw.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if err := rg.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	_, err = ReadTable(context.Background(), path, Selection{Features: []string{"x"}})
	if !errors.Is(err, ErrUnsupported) || !errors.Is(err, ErrBadInput) || !strings.Contains(err.Error(), "MAP keys") {
		t.Fatalf("err = %v, want ErrUnsupported with arrow-go's cause", err)
	}
}
