package parquet

import (
	"bufio"
	"bytes"
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

// utf8BOM is the byte-order mark some writers put before UTF-8 text.
var utf8BOM = []byte("\ufeff")

// csvBatchRows is how many rows of a CSV stream make one batch.
const csvBatchRows = 32 * 1024

// csvSource reads CSV with a header row, csvBatchRows rows at a time. The
// features (Selection.Features) are float64 columns: a cell is parsed as
// a number, an empty cell (or one of spaces) is missing (null); every
// other column is text (string), kept as it is written. The parser splits
// the rows into records on one goroutine and parses a batch's numbers on
// every core; the first bad cell (the earliest row, then the leftmost
// column) is the error.
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
	br := bufio.NewReaderSize(r, 64<<10)
	if head, _ := br.Peek(len(utf8BOM)); bytes.Equal(head, utf8BOM) {
		// A byte-order mark, dropped before the parser sees it: it would
		// put a quoted first name out of place.
		br.Discard(len(utf8BOM))
	}
	cr := csv.NewReader(br)
	cr.ReuseRecord = true
	header, err := cr.Read()
	switch {
	case errors.Is(err, io.EOF):
		return nil, badInput("the CSV stream is empty: it needs a header row naming the columns")
	case err != nil:
		return nil, csvError(err)
	}
	header = slices.Clone(header)
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
	// The cells of the wanted columns, row-major, and the line of each row.
	nw := len(want)
	cells := make([]string, 0, csvBatchRows*nw)
	var lines []int
	for len(lines) < csvBatchRows {
		rec, err := s.r.Read()
		if errors.Is(err, io.EOF) {
			s.eof = true
			break
		}
		if err != nil {
			return 0, nil, csvError(err)
		}
		line, _ := s.r.FieldPos(0)
		lines = append(lines, line)
		for _, fi := range want {
			cells = append(cells, rec[fi]) // the reader reuses rec, not its strings
		}
	}
	n := len(lines)
	if n == 0 {
		return 0, nil, io.EOF
	}
	cols := make(map[int][]arrow.Array, nw)
	values := make([][]float64, nw)
	valid := make([][]bool, nw)
	for w, fi := range want {
		if s.number[fi] {
			values[w], valid[w] = make([]float64, n), make([]bool, n)
			continue
		}
		b := array.NewStringBuilder(s.mem)
		for r := range n {
			b.Append(cells[r*nw+w])
		}
		cols[fi] = []arrow.Array{b.NewArray()}
		b.Release()
	}
	// The numbers are parsed in blocks of rows at once, a row's cells one
	// after the other, as they lie in memory.
	blocks := (n + csvParseRows - 1) / csvParseRows
	bad := make([]int, blocks) // per block, the first bad cell's index in cells, or -1
	forEachParallel(blocks, func(k int) {
		bad[k] = -1
		for r := k * csvParseRows; r < min(n, (k+1)*csvParseRows); r++ {
			for w, fi := range want {
				if !s.number[fi] {
					continue
				}
				v, ok, err := parseNumber(cells[r*nw+w])
				if err != nil {
					bad[k] = r*nw + w
					return
				}
				values[w][r], valid[w][r] = v, ok
			}
		}
	})
	for _, i := range bad {
		if i >= 0 {
			fi := want[i%nw]
			return 0, nil, badInput("line %d, column %q: %q is not a number; a feature must be a number, or empty for a missing value", lines[i/nw], s.fs[fi].Name, truncateText(cells[i]))
		}
	}
	for w, fi := range want {
		if s.number[fi] {
			b := array.NewFloat64Builder(s.mem)
			b.AppendValues(values[w], valid[w])
			cols[fi] = []arrow.Array{b.NewArray()}
			b.Release()
		}
	}
	return n, cols, nil
}

// csvParseRows is how many rows of a CSV batch one goroutine parses at a
// time.
const csvParseRows = 2048

// parseNumber parses a feature's cell: ok is false for an empty cell (or
// one of spaces), a missing value. The syntax is strconv.ParseFloat's, so
// NaN and Inf read as themselves, which scoring treats as missing, and a
// number out of range reads as ±Inf.
func parseNumber(cell string) (v float64, ok bool, err error) {
	cell = strings.TrimSpace(cell)
	if cell == "" {
		return 0, false, nil
	}
	v, err = strconv.ParseFloat(cell, 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return 0, false, err
	}
	return v, true, nil
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
