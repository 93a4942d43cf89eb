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
