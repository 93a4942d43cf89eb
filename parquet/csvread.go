package parquet

import (
	"bufio"
	"encoding/csv"
	"errors"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// csvBatchRows is how many rows of a CSV stream make one batch.
const csvBatchRows = 32 * 1024

// csvSource reads CSV with a header row, csvBatchRows rows at a time. The
// features (Selection.Features) are float64 columns: a cell is parsed as
// a number, an empty cell (or one of spaces) is missing (null); every
// other column is text (string), kept as it is written.
type csvSource struct {
	r      *csv.Reader
	mem    memory.Allocator
	fs     []arrow.Field
	number []bool // per column: a feature, parsed as a number
	eof    bool
}

// openCSVStream reads the header row of a CSV stream and types its
// columns: the features named in sel are numbers, the rest text. A
// header lacking a feature is left for the plan to refuse, naming it and
// the columns there are.
func openCSVStream(r io.Reader, sel Selection, mem memory.Allocator) (streamSource, error) {
	if len(sel.Features) == 0 {
		return nil, usageError("a CSV stream needs its features named: its columns have no types to tell numbers by")
	}
	cr := csv.NewReader(bufio.NewReaderSize(r, 64<<10))
	cr.ReuseRecord = true
	header, err := cr.Read()
	switch {
	case errors.Is(err, io.EOF):
		return nil, badInput("the CSV stream is empty: it needs a header row naming the columns")
	case err != nil:
		return nil, csvError(err)
	}
	header = slices.Clone(header)
	header[0] = strings.TrimPrefix(header[0], "\ufeff") // a byte-order mark
	s := &csvSource{r: cr, mem: mem, fs: make([]arrow.Field, len(header)), number: make([]bool, len(header))}
	for i, name := range header {
		s.number[i] = slices.Contains(sel.Features, name)
		s.fs[i] = arrow.Field{Name: name, Type: arrow.BinaryTypes.String, Nullable: true}
		if s.number[i] {
			s.fs[i].Type = arrow.PrimitiveTypes.Float64
		}
	}
	return s, nil
}

// csvError words an error of the CSV parser (a quote out of place, a row
// with another number of fields than the header), which names the line.
func csvError(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return badInput("the CSV is malformed: %w", err)
	}
	return badInput("cannot read the CSV stream: %w", err)
}

func (s *csvSource) fields() []arrow.Field { return s.fs }

func (s *csvSource) next(want []int) (int, map[int][]arrow.Array, error) {
	if s.eof {
		return 0, nil, io.EOF
	}
	builders := make(map[int]array.Builder, len(want))
	for _, fi := range want {
		b := array.NewBuilder(s.mem, s.fs[fi].Type)
		b.Reserve(csvBatchRows)
		builders[fi] = b
	}
	n := 0
	for n < csvBatchRows {
		rec, err := s.r.Read()
		if errors.Is(err, io.EOF) {
			s.eof = true
			break
		}
		if err != nil {
			return 0, nil, csvError(err)
		}
		for _, fi := range want {
			if s.number[fi] {
				if err := s.appendNumber(builders[fi].(*array.Float64Builder), rec, fi); err != nil {
					return 0, nil, err
				}
			} else {
				builders[fi].(*array.StringBuilder).Append(rec[fi])
			}
		}
		n++
	}
	if n == 0 {
		return 0, nil, io.EOF
	}
	cols := make(map[int][]arrow.Array, len(want))
	for fi, b := range builders {
		cols[fi] = []arrow.Array{b.NewArray()}
		b.Release()
	}
	return n, cols, nil
}

// appendNumber parses the cell of column fi: empty is missing, anything
// else must be a number (strconv.ParseFloat's syntax, so NaN and Inf read
// as themselves, which scoring treats as missing).
func (s *csvSource) appendNumber(b *array.Float64Builder, rec []string, fi int) error {
	cell := strings.TrimSpace(rec[fi])
	if cell == "" {
		b.AppendNull()
		return nil
	}
	v, err := strconv.ParseFloat(cell, 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		line, _ := s.r.FieldPos(fi)
		return badInput("line %d, column %q: %q is not a number; a feature must be a number, or empty for a missing value", line, s.fs[fi].Name, truncateText(rec[fi]))
	}
	b.Append(v) // out of range: ±Inf, missing when scored
	return nil
}

// truncateText shortens a cell quoted in an error message.
func truncateText(s string) string {
	const most = 40
	if len(s) <= most {
		return s
	}
	cut := most
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
