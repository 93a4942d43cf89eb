package parquet

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"strings"

	"github.com/apache/thrift/lib/go/thrift"
)

// arrow-go panics while it reads the schema of a file whose footer gives a
// column a logical type it does not know (one a newer Parquet format
// added): the thrift decoder skips the unknown member of the LogicalType
// union, and the schema builder finds none set. Nothing of such a file can
// be read, not even its other columns, so openParquet recovers and names
// the column, which it finds by reading the footer's schema itself.

// knownLogicalTypes holds the members of the Parquet LogicalType union
// (by their thrift field id) that arrow-go v18.9 reads: STRING to
// TIMESTAMP (1-8; 9 is unused), INTEGER (10) to GEOGRAPHY (18).
var knownLogicalTypes = map[int16]bool{
	1: true, 2: true, 3: true, 4: true, 5: true, 6: true, 7: true, 8: true,
	10: true, 11: true, 12: true, 13: true, 14: true, 15: true, 16: true, 17: true, 18: true,
}

// unknownLogicalType is a column whose logical type arrow-go does not
// know.
type unknownLogicalType struct {
	column string
	id     int16 // its member of the LogicalType union
}

// schemaFailure explains a panic r of arrow-go while it read the schema of
// the Parquet file f: an error wrapping ErrUnsupported naming the columns
// of unknown logical types, or else one saying the footer is corrupt.
func schemaFailure(f inputFile, r any) error {
	if footer, err := parquetFooter(f); err == nil {
		if unknown, err := unknownLogicalTypes(footer); err == nil && len(unknown) > 0 {
			var cols []string
			for _, u := range unknown {
				cols = append(cols, fmt.Sprintf("column %q has the logical type number %d", u.column, u.id))
			}
			return unsupported("%s, which the Parquet reader vaejob uses does not know (a type of a newer Parquet format); it cannot read the file's schema, so no column of the file can be read, selected or not: write the file without that column, or with a type of the column that older readers know", strings.Join(cols, ", and "))
		}
	}
	return badInput("the Parquet footer is corrupt (reading its schema failed: %v); re-create or re-download the file", r)
}

// parquetFooter returns the thrift-encoded FileMetaData at the end of f.
func parquetFooter(f inputFile) ([]byte, error) {
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	var tail [8]byte
	if st.Size() < 12 {
		return nil, fmt.Errorf("%d bytes is too small for a Parquet file", st.Size())
	}
	if _, err := f.ReadAt(tail[:], st.Size()-8); err != nil {
		return nil, err
	}
	n := int64(binary.LittleEndian.Uint32(tail[:]))
	if n > st.Size()-12 {
		return nil, fmt.Errorf("the footer claims %d bytes of a %d-byte file", n, st.Size())
	}
	footer := make([]byte, n)
	if _, err := f.ReadAt(footer, st.Size()-8-n); err != nil {
		return nil, err
	}
	return footer, nil
}

// unknownLogicalTypes reads the schema of a thrift-encoded FileMetaData
// (its field 2, a list of SchemaElement) and returns the elements whose
// LogicalType (SchemaElement field 10, named by field 4) is not among
// knownLogicalTypes.
func unknownLogicalTypes(footer []byte) ([]unknownLogicalType, error) {
	ctx := context.Background()
	buf := thrift.NewTMemoryBufferLen(len(footer))
	buf.Write(footer)
	p := thrift.NewTCompactProtocolConf(buf, &thrift.TConfiguration{MaxMessageSize: int32(min(len(footer)+1, math.MaxInt32))})
	var out []unknownLogicalType
	err := readStruct(ctx, p, func(id int16, t thrift.TType) (bool, error) {
		if id != 2 || t != thrift.LIST {
			return false, nil
		}
		_, n, err := p.ReadListBegin(ctx)
		if err != nil {
			return true, err
		}
		for range n {
			var name string
			var member int16 = -1
			err := readStruct(ctx, p, func(id int16, t thrift.TType) (bool, error) {
				switch {
				case id == 4 && t == thrift.STRING:
					s, err := p.ReadString(ctx)
					name = s
					return true, err
				case id == 10 && t == thrift.STRUCT:
					return true, readStruct(ctx, p, func(id int16, t thrift.TType) (bool, error) {
						member = id
						return false, nil
					})
				}
				return false, nil
			})
			if err != nil {
				return true, err
			}
			if member >= 0 && !knownLogicalTypes[member] {
				out = append(out, unknownLogicalType{column: name, id: member})
			}
		}
		return true, p.ReadListEnd(ctx)
	})
	return out, err
}

// readStruct reads a thrift struct from p, calling field for each field:
// field reads the value and returns true, or returns false to have it
// skipped.
func readStruct(ctx context.Context, p thrift.TProtocol, field func(id int16, t thrift.TType) (bool, error)) error {
	if _, err := p.ReadStructBegin(ctx); err != nil {
		return err
	}
	for {
		_, t, id, err := p.ReadFieldBegin(ctx)
		if err != nil {
			return err
		}
		if t == thrift.STOP {
			break
		}
		read, err := field(id, t)
		if err != nil {
			return err
		}
		if !read {
			if err := p.Skip(ctx, t); err != nil {
				return err
			}
		}
		if err := p.ReadFieldEnd(ctx); err != nil {
			return err
		}
	}
	return p.ReadStructEnd(ctx)
}
