package parquet

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// This file reads a table from a stream that cannot seek (standard input,
// a pipe): an Arrow IPC stream, or CSV with a header row (csvread.go).

// maxStreamMessage bounds one message of an Arrow IPC stream read from a
// pipe, its metadata and its body alike, and one buffer decoded from it:
// a pipe has no size to hold a corrupt length to, and a batch larger than
// this is better split by its writer.
const maxStreamMessage = 2 << 30

// streamHeadBytes is how much of a stream SniffFormat looks at.
const streamHeadBytes = 8

// SniffFormat tells the format of a stream from its first bytes, without
// consuming them: Arrow for an Arrow IPC stream (the continuation marker
// 0xFFFFFFFF, or the older form that starts with the length of the
// schema's metadata, whose bytes hold a zero that text never does) or an
// Arrow IPC file (whose streamed part ReadStream reads), CSV otherwise. A
// Parquet file (PAR1) is an error wrapping [ErrUsage] (see ReadStream); an
// empty stream one wrapping [ErrBadInput].
func SniffFormat(r *bufio.Reader) (Format, error) {
	head, err := r.Peek(streamHeadBytes)
	if len(head) == 0 {
		if err == nil || err == io.EOF {
			return 0, badInput("the stream is empty: send an Arrow IPC stream, or CSV with a header row")
		}
		return 0, badInput("cannot read the stream: %w", err)
	}
	switch {
	case bytes.HasPrefix(head, parquetMagic), bytes.HasPrefix(head, encryptedParquetMagic):
		return 0, parquetOnStream()
	case bytes.HasPrefix(head, arrowMagic), bytes.HasPrefix(head, []byte{0xff, 0xff, 0xff, 0xff}),
		len(head) >= 4 && bytes.IndexByte(head[:4], 0) >= 0:
		return Arrow, nil
	}
	return CSV, nil
}

// parquetOnStream refuses Parquet on a stream.
func parquetOnStream() error {
	return usageError("the stream is a Parquet file, which cannot be read from a stream: its footer, which says where every column is, comes last, and reading it needs seeking; read it from a file, or convert it to an Arrow IPC stream")
}

// ReadStream reads a table in the given format (Arrow or CSV; see
// SniffFormat) from r, which need not seek, and hands its batches to each
// in order, as StreamInputs does: memory holds a few batches, and an
// input without rows calls each never and returns a Table with the kept
// columns' schema. The Selection applies as to a file; a CSV stream needs
// its features named (Selection.Features).
//
// An Arrow stream's batches are its record batches; a message or buffer
// above 2 GiB is refused as corrupt. An Arrow IPC file's streamed part is
// read the same way, its footer left unread. Parquet is refused with an
// error wrapping [ErrUsage]: it needs seeking. Cancelling ctx stops the
// read before the next batch. Errors do not name the stream: the caller
// does.
func ReadStream(ctx context.Context, r io.Reader, format Format, sel Selection, each func(*Batch) error) (t *Table, err error) {
	if err := sel.Validate(); err != nil {
		return nil, err
	}
	if each == nil {
		return nil, usageError("a streamed read needs a function to take the batches")
	}
	s := &streamSink{each: each}
	defer func() {
		if s.callerErr != nil {
			t, err = nil, s.callerErr
		}
	}()
	defer recoverDecoderPanic(&err)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	mem := memory.DefaultAllocator
	var src streamSource
	switch format {
	case Arrow:
		src, err = openArrowStream(r, mem)
	case CSV:
		src, err = openCSVStream(r, sel, mem)
	case Parquet:
		return nil, parquetOnStream()
	default:
		return nil, usageError("unknown stream format %v", format)
	}
	if err != nil {
		return nil, err
	}
	return readStreamSource(ctx, src, sel, s, mem)
}

// streamSource reads a stream batch by batch: its fields, then per batch
// the row count and, for each wanted field index, its arrays; io.EOF
// after the last.
type streamSource interface {
	fields() []arrow.Field
	next(want []int) (rows int, cols map[int][]arrow.Array, err error)
}

// readStreamSource plans the read from src's fields, as the first file of
// a dataset decides it, and hands its batches to s.
func readStreamSource(ctx context.Context, src streamSource, sel Selection, s *streamSink, mem memory.Allocator) (*Table, error) {
	fields := src.fields()
	t := &Table{}
	roles, idx, err := plan(fields, sel, t)
	if err != nil {
		return nil, err
	}
	kept := make([]arrow.Field, len(sel.Keep))
	for r, role := range roles {
		if role.kept >= 0 {
			kept[role.kept] = fields[idx[r]]
		}
	}
	s.begin(sinkStart{t: t, sel: sel, kept: kept, mem: mem})
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		n, cols, err := src.next(idx)
		if err == io.EOF {
			return s.finish()
		}
		if err != nil {
			return nil, err
		}
		if n == 0 {
			continue
		}
		t.RowsRead += n
		t.RowsMatched += n
		b := &rowBatch{rows: n, features: make([][]arrow.Array, len(t.Names)), kept: make([]keptBatch, len(sel.Keep))}
		for r, role := range roles {
			if role.feature >= 0 {
				b.features[role.feature] = cols[idx[r]]
			}
			if role.kept >= 0 {
				b.kept[role.kept] = keptBatch{field: fields[idx[r]], chunks: cols[idx[r]]}
			}
		}
		if err := s.add(b); err != nil {
			return nil, err
		}
	}
}

// openArrowStream starts reading an Arrow IPC stream (or the streamed part
// of an Arrow IPC file) from r, its messages checked (ipccheck.go) before
// arrow-go reads them.
func openArrowStream(r io.Reader, mem memory.Allocator) (streamSource, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	if head, _ := br.Peek(len(arrowMagic)); bytes.Equal(head, arrowMagic) {
		// An Arrow IPC file: the magic, padded to 8 bytes, then a stream.
		if _, err := br.Discard(8); err != nil {
			return nil, ipcFailure("the Arrow IPC file", err)
		}
	}
	mem = &checkedAllocator{Allocator: mem, check: func(n int) {
		if n > maxStreamMessage {
			panic(badInput("the stream is corrupt: it declares a buffer of %d bytes, more than the %d a message may hold; re-create it", n, maxStreamMessage))
		}
	}}
	s, err := newArrowStreamSource(br, mem, maxStreamMessage)
	if err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, badInput("the Arrow IPC stream ends before its schema; send a whole stream")
		}
		return nil, ipcFailure("the Arrow IPC stream", err)
	}
	return s, nil
}
