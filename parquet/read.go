package parquet

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"unicode/utf8"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
	pq "github.com/apache/arrow/go/v15/parquet"
	"github.com/apache/arrow/go/v15/parquet/file"
	"github.com/apache/arrow/go/v15/parquet/pqarrow"
)

// Selection says which columns of a file become features and which are
// carried along untouched.
type Selection struct {
	// Features names the feature columns explicitly, in this order. Empty
	// means every numeric column, in file order.
	Features []string
	// Exclude names columns to drop from the default selection. Every name
	// must exist. Setting both Features and Exclude is a usage error.
	Exclude []string
	// Keep names extra columns of any type to carry along unchanged, in
	// input row order, e.g. row ids for the score output or a label column.
	// A column may be both a feature and kept.
	Keep []string
	// AllowMissing lets feature columns hold nulls, NaN and ±Inf: nulls
	// become NaN in Table.Data and non-finite values stay as they are. For
	// scoring, where such a row must be flagged, not refused. Without it
	// they are an error wrapping ErrBadInput.
	AllowMissing bool
}

// validate checks the Selection on its own, before any file is opened.
func (s Selection) validate() error {
	if len(s.Features) > 0 && len(s.Exclude) > 0 {
		return usageError("features and exclude were both given; name the features explicitly or exclude columns from the default selection, not both")
	}
	if err := checkNames("features", s.Features); err != nil {
		return err
	}
	if err := checkNames("exclude", s.Exclude); err != nil {
		return err
	}
	return checkNames("keep", s.Keep)
}

// SkippedColumn is a non-numeric column left out of the default selection.
type SkippedColumn struct {
	Name string // column name
	Type string // its type, e.g. "string" or "timestamp[us, tz=UTC]"
}

// Table is a dense float32 feature matrix read from a file, plus the columns
// carried along untouched.
type Table struct {
	// Names holds the feature names, in the column order of Data.
	Names []string
	// Rows is the number of rows.
	Rows int
	// Data holds the features row-major: feature j of row i is
	// Data[i*len(Names)+j].
	Data []float32
	// Skipped lists the non-numeric columns left out of the default
	// selection, in file order, except those named in Selection.Exclude.
	// It is empty when the features were named explicitly.
	Skipped []SkippedColumn
	// Kept holds the Selection.Keep columns, in that order, with Rows rows in
	// input order. It is never nil; it has no columns when nothing was kept.
	// Its memory is managed by the Go garbage collector; releasing it is
	// optional.
	Kept arrow.Table
}

// Row returns the features of row i. The slice aliases Data.
func (t *Table) Row(i int) []float32 {
	n := len(t.Names)
	return t.Data[i*n : (i+1)*n : (i+1)*n]
}

// maxCells bounds Rows*len(Names) so that a corrupt footer claiming billions
// of rows fails cleanly instead of exhausting memory (8 GiB of float32).
const maxCells = 1 << 31

// parquetMagic starts and ends every unencrypted Parquet file.
var parquetMagic = []byte("PAR1")

// ReadTable reads the Parquet file at path into a Table, converting the
// columns chosen by sel to float32. It reads only the columns it needs, one
// row group at a time.
//
// Errors caused by the file or its contents wrap [ErrBadInput]; errors in sel
// itself wrap [ErrUsage].
func ReadTable(path string, sel Selection) (*Table, error) {
	t, err := readTable(path, sel)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	return t, nil
}

func readTable(path string, sel Selection) (*Table, error) {
	if err := sel.validate(); err != nil {
		return nil, err
	}
	f, size, err := openInput(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if err := checkMagic(f, size); err != nil {
		return nil, err
	}
	return decode(f, sel)
}

// openInput opens a regular file for reading, turning the usual failures
// into user-facing ErrBadInput errors.
func openInput(path string) (*os.File, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return nil, 0, badInput("the file does not exist; check the path")
		case errors.Is(err, fs.ErrPermission):
			return nil, 0, badInput("permission denied; make the file readable by this user")
		}
		return nil, 0, badInput("cannot open the file: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, badInput("cannot stat the file: %w", err)
	}
	if st.IsDir() {
		f.Close()
		return nil, 0, badInput("this is a directory, not a file; give the path of a Parquet file")
	}
	if !st.Mode().IsRegular() {
		// Pipes and devices cannot be read from the end, as Parquet needs.
		f.Close()
		return nil, 0, badInput("this is not a regular file (%s); give the path of a Parquet file", st.Mode().Type())
	}
	return f, st.Size(), nil
}

// checkMagic verifies the "PAR1" markers at both ends of the file and
// explains what the file looks like when they are missing.
func checkMagic(f *os.File, size int64) error {
	if size == 0 {
		return badInput("the file is empty; expected a Parquet file")
	}
	head := make([]byte, 512)
	n, err := f.ReadAt(head, 0)
	if err != nil && err != io.EOF {
		return badInput("cannot read the file: %w", err)
	}
	head = head[:n]
	if !bytes.HasPrefix(head, parquetMagic) {
		if looksLikeText(head) {
			return badInput("not a Parquet file: it looks like a text file (CSV?); convert it to Parquet first, e.g. with DuckDB or pandas")
		}
		return badInput("not a Parquet file: it does not start with the Parquet magic bytes \"PAR1\"")
	}
	if size < 12 {
		return badInput("the file is truncated: %d bytes is too small for a Parquet file; re-create it", size)
	}
	tail := make([]byte, 4)
	if _, err := f.ReadAt(tail, size-4); err != nil {
		return badInput("cannot read the file: %w", err)
	}
	switch {
	case bytes.Equal(tail, []byte("PARE")):
		return badInput("the Parquet file is encrypted, which is not supported; write it without encryption")
	case !bytes.Equal(tail, parquetMagic):
		return badInput("the Parquet file is truncated or corrupt: it does not end with \"PAR1\"; re-create or re-download it")
	}
	return nil
}

// looksLikeText reports whether b is plausibly the start of a text file.
func looksLikeText(b []byte) bool {
	if len(b) == 0 || bytes.IndexByte(b, 0) >= 0 {
		return false
	}
	// A read may cut a multi-byte rune at the end.
	for k := 0; k < utf8.UTFMax && len(b) > 1 && !utf8.Valid(b); k++ {
		b = b[:len(b)-1]
	}
	return utf8.Valid(b)
}

// role says how a file column is used.
type role struct {
	field   int // index into the pqarrow manifest's top-level fields
	name    string
	feature int // position in Table.Names, or -1
	kept    int // position in Selection.Keep, or -1
	leaves  map[int]bool
}

// decode reads a file whose magic bytes have been checked. It turns panics
// inside Arrow into ErrBadInput errors.
func decode(f *os.File, sel Selection) (t *Table, err error) {
	defer func() {
		if r := recover(); r != nil {
			t = nil
			err = badInput("the Parquet file is corrupt (the decoder failed: %v); re-create or re-download it", r)
		}
	}()

	mem := memory.DefaultAllocator
	pf, err := file.NewParquetReader(f, file.WithReadProps(pq.NewReaderProperties(mem)))
	if err != nil {
		return nil, badInput("the Parquet footer is corrupt or truncated (%w); re-create or re-download the file", err)
	}
	// pf is not closed: closing it would close f, which the caller owns.
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{}, mem)
	if err != nil {
		return nil, badInput("the Parquet schema is unsupported or corrupt: %w", err)
	}

	t = &Table{}
	roles, err := plan(fr.Manifest.Fields, sel, t)
	if err != nil {
		return nil, err
	}

	md := pf.MetaData()
	var rows int64
	for rg := 0; rg < pf.NumRowGroups(); rg++ {
		n := md.RowGroup(rg).NumRows()
		if n < 0 {
			return nil, badInput("the Parquet footer is corrupt: row group %d claims %d rows; re-create the file", rg, n)
		}
		rows += n
	}
	nf := len(t.Names)
	if rows == 0 {
		return nil, badInput("the file has no rows; a non-empty table is needed")
	}
	if rows > maxCells/int64(nf) {
		return nil, badInput("the file is too large: %d rows × %d features exceeds %d values; select fewer rows or features", rows, nf, int64(maxCells))
	}
	t.Rows = int(rows)
	t.Data = make([]float32, t.Rows*nf)

	stats := make([]valueStats, nf)
	keptFields := make([]arrow.Field, len(sel.Keep))
	keptChunks := make([][]arrow.Array, len(sel.Keep))
	ctx := context.Background()
	off := 0
	for rg := 0; rg < pf.NumRowGroups(); rg++ {
		n := int(md.RowGroup(rg).NumRows())
		for _, r := range roles {
			field, chunks, err := readChunk(ctx, fr, r, rg, n)
			if err != nil {
				return nil, err
			}
			if r.feature >= 0 {
				pos := 0
				for _, c := range chunks {
					dst := t.Data[(off+pos)*nf+r.feature:]
					if err := toFloat32(c, dst, nf, &stats[r.feature]); err != nil {
						return nil, badInput("column %q: %w", r.name, err)
					}
					pos += c.Len()
				}
			}
			if r.kept >= 0 {
				if rg == 0 {
					keptFields[r.kept] = field
				} else if !arrow.TypeEqual(keptFields[r.kept].Type, field.Type) {
					return nil, badInput("the Parquet file is corrupt: column %q changes type between row groups", r.name)
				}
				keptChunks[r.kept] = append(keptChunks[r.kept], chunks...)
			}
		}
		off += n
	}

	if !sel.AllowMissing {
		if err := checkStats(t.Names, stats); err != nil {
			return nil, err
		}
	}

	cols := make([]arrow.Column, len(sel.Keep))
	for k := range sel.Keep {
		ch := arrow.NewChunked(keptFields[k].Type, keptChunks[k])
		cols[k] = *arrow.NewColumn(keptFields[k], ch)
		ch.Release()
	}
	t.Kept = array.NewTable(arrow.NewSchema(keptFields, nil), cols, rows)
	return t, nil
}

// readChunk reads column r of row group rg, which must hold n rows.
func readChunk(ctx context.Context, fr *pqarrow.FileReader, r role, rg, n int) (arrow.Field, []arrow.Array, error) {
	rdr, err := fr.GetFieldReader(ctx, r.field, r.leaves, []int{rg})
	if err != nil {
		return arrow.Field{}, nil, badInput("column %q, row group %d: %w", r.name, rg, err)
	}
	if rdr == nil {
		return arrow.Field{}, nil, badInput("column %q, row group %d: no data found", r.name, rg)
	}
	defer rdr.Release()
	ch, err := fr.ReadColumn([]int{rg}, rdr)
	if err != nil {
		return arrow.Field{}, nil, badInput("column %q, row group %d is corrupt: %w", r.name, rg, err)
	}
	if ch.Len() != n {
		ch.Release()
		return arrow.Field{}, nil, badInput("the Parquet file is corrupt: column %q has %d rows in row group %d, the footer says %d", r.name, ch.Len(), rg, n)
	}
	// The chunks outlive ch; with the Go allocator the garbage collector
	// frees them once they are no longer referenced.
	return *rdr.Field(), ch.Chunks(), nil
}

// plan resolves sel against the file's top-level fields. It fills t.Names
// and t.Skipped and returns one role per column to read, in file order.
func plan(fields []pqarrow.SchemaField, sel Selection, t *Table) ([]role, error) {
	byName := make(map[string][]int, len(fields))
	all := make([]string, len(fields))
	for i, f := range fields {
		all[i] = f.Field.Name
		byName[f.Field.Name] = append(byName[f.Field.Name], i)
	}
	// lookup resolves names that must exist exactly once in the file.
	lookup := func(what string, names []string) ([]int, error) {
		idx := make([]int, len(names))
		var missing []string
		for i, n := range names {
			switch found := byName[n]; len(found) {
			case 0:
				missing = append(missing, n)
			case 1:
				idx[i] = found[0]
			default:
				return nil, badInput("column name %q appears %d times in the file; column names must be unique", n, len(found))
			}
		}
		if len(missing) > 0 {
			return nil, missingColumns(what, missing, all)
		}
		return idx, nil
	}

	keepIdx, err := lookup("kept", sel.Keep)
	if err != nil {
		return nil, err
	}

	var featIdx []int
	if len(sel.Features) > 0 {
		featIdx, err = lookup("feature", sel.Features)
		if err != nil {
			return nil, err
		}
		var wrong []string
		for i, fi := range featIdx {
			if dt := fields[fi].Field.Type; !isConvertible(dt) {
				wrong = append(wrong, fmt.Sprintf("%q is %s", sel.Features[i], typeName(dt)))
			}
		}
		if len(wrong) > 0 {
			return nil, badInput("feature columns must be numeric (integer, float, decimal or bool), but %s; leave them out of the features", strings.Join(wrong, ", "))
		}
		t.Names = append([]string(nil), sel.Features...)
	} else {
		exIdx, err := lookup("excluded", sel.Exclude)
		if err != nil {
			return nil, err
		}
		excluded := make(map[int]bool, len(exIdx))
		for _, i := range exIdx {
			excluded[i] = true
		}
		numeric := 0
		for i, f := range fields {
			if !isNumeric(f.Field.Type) {
				if !excluded[i] {
					t.Skipped = append(t.Skipped, SkippedColumn{Name: f.Field.Name, Type: typeName(f.Field.Type)})
				}
				continue
			}
			numeric++
			if excluded[i] {
				continue
			}
			if n := len(byName[f.Field.Name]); n > 1 {
				return nil, badInput("column name %q appears %d times in the file; column names must be unique", f.Field.Name, n)
			}
			featIdx = append(featIdx, i)
			t.Names = append(t.Names, f.Field.Name)
		}
		switch {
		case numeric == 0:
			return nil, badInput("the file has no numeric columns (columns: %s); features must be integer, float or decimal columns", describe(fields))
		case len(featIdx) == 0:
			return nil, badInput("every numeric column was excluded; exclude fewer columns")
		}
	}

	roles := make(map[int]*role)
	get := func(fi int) *role {
		r, ok := roles[fi]
		if !ok {
			r = &role{field: fi, name: fields[fi].Field.Name, feature: -1, kept: -1, leaves: leaves(&fields[fi])}
			roles[fi] = r
		}
		return r
	}
	for j, fi := range featIdx {
		get(fi).feature = j
	}
	for k, fi := range keepIdx {
		get(fi).kept = k
	}
	out := make([]role, 0, len(roles))
	for i := range fields {
		if r, ok := roles[i]; ok {
			out = append(out, *r)
		}
	}
	return out, nil
}

// leaves collects the leaf column indices under f.
func leaves(f *pqarrow.SchemaField) map[int]bool {
	out := make(map[int]bool)
	var walk func(f *pqarrow.SchemaField)
	walk = func(f *pqarrow.SchemaField) {
		if f.IsLeaf() {
			out[f.ColIndex] = true
		}
		for i := range f.Children {
			walk(&f.Children[i])
		}
	}
	walk(f)
	return out
}

// missingColumns explains that names do not exist and lists the columns
// that do, with a hint for names differing only in case.
func missingColumns(what string, missing, all []string) error {
	var hints []string
	for _, m := range missing {
		for _, a := range all {
			if strings.EqualFold(m, a) {
				hints = append(hints, fmt.Sprintf("%q instead of %q", a, m))
				break
			}
		}
	}
	noun := "column " + quoteList(missing) + " does"
	if len(missing) > 1 {
		noun = "columns " + quoteList(missing) + " do"
	}
	msg := fmt.Sprintf("%s %s not exist; available columns: %s", what, noun, quoteList(all))
	if len(hints) > 0 {
		msg += "; did you mean " + strings.Join(hints, ", ") + "?"
	}
	return badInput("%s", msg)
}

// describe lists fields with their types for error messages.
func describe(fields []pqarrow.SchemaField) string {
	parts := make([]string, 0, len(fields))
	for i, f := range fields {
		if i == maxListed {
			parts = append(parts, fmt.Sprintf("... and %d more", len(fields)-maxListed))
			break
		}
		parts = append(parts, fmt.Sprintf("%q %s", f.Field.Name, typeName(f.Field.Type)))
	}
	return strings.Join(parts, ", ")
}

// checkStats reports every feature column holding nulls or non-finite values.
func checkStats(names []string, stats []valueStats) error {
	var parts []string
	for j, st := range stats {
		if st.bad() {
			parts = append(parts, fmt.Sprintf("column %q: %s", names[j], st))
		}
	}
	if len(parts) == 0 {
		return nil
	}
	return badInput("feature columns contain missing or non-finite values (%s); drop or impute those rows, or leave the columns out of the features", strings.Join(parts, "; "))
}
