package parquet

import (
	"bufio"
	"fmt"
	"io"

	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// maxDecompressionRatio bounds how many bytes one byte of a compressed
// Arrow IPC buffer can decode to with the codecs of the format: a zstd
// block of at most 128 KiB takes at least 4 bytes (an RLE block), LZ4
// reaches about 255.
const maxDecompressionRatio = 128 << 10 / 4

// minIPCAllocLimit is the smallest limit on one buffer of an Arrow IPC
// read, however small the file.
const minIPCAllocLimit = 1 << 20

// openArrow opens the Arrow IPC file or stream f for reading batch by
// batch, with buffers from mem; the caller closes f. The metadata is
// checked (ipccheck.go) before arrow-go reads it.
func openArrow(f inputFile, format InputFormat, mem memory.Allocator) (batchSource, error) {
	st, err := f.Stat()
	if err != nil {
		return nil, ipcFailure("the file", err)
	}
	size := st.Size()
	mem = newBoundedAllocator(mem, size)
	// A message's metadata and body are read from the file, so neither can
	// exceed its size.
	limit := max(size, 1)
	if format == FormatArrowStream {
		s, err := newArrowStreamSource(f, mem, limit)
		if err != nil {
			return nil, ipcFailure("the Arrow IPC stream", err)
		}
		return s, nil
	}
	if err := checkArrowFile(f, size); err != nil {
		return nil, err
	}
	r, err := ipc.NewFileReader(f, ipcOptions(mem, limit)...)
	if err != nil {
		return nil, ipcFailure("the Arrow IPC file", err)
	}
	return &arrowFileSource{r: r}, nil
}

// newArrowStreamSource reads the Arrow IPC stream r batch by batch, with
// buffers from mem, each message checked (ipccheck.go) before arrow-go
// reads it and refused when its metadata or body is longer than limit
// bytes.
func newArrowStreamSource(r io.Reader, mem memory.Allocator, limit int64) (*arrowStreamSource, error) {
	msgs := &checkedMessages{r: bufio.NewReaderSize(r, 64<<10), mem: mem, limit: limit}
	rd, err := ipc.NewReaderFromMessageReader(msgs, ipcOptions(mem, limit)...)
	if err != nil {
		return nil, err
	}
	return &arrowStreamSource{r: rd}, nil
}

// ipcOptions are the options of every Arrow IPC read: buffers from mem, and
// a message's metadata and body at most limit bytes, which also lifts
// arrow-go's default limit of 256 MiB on a body (it would refuse a valid
// input with a larger batch).
func ipcOptions(mem memory.Allocator, limit int64) []ipc.Option {
	return []ipc.Option{ipc.WithAllocator(mem), ipc.WithMetadataSizeLimit(limit), ipc.WithBodySizeLimit(limit)}
}

// newBoundedAllocator returns mem refusing any buffer that a file of size
// bytes cannot back: a compressed buffer is allocated at the uncompressed
// size its first 8 bytes declare, which may be at most
// maxDecompressionRatio times the file. It refuses a buffer above that
// limit, which only a corrupt size asks for, by panicking with an error
// wrapping ErrBadInput; the IPC reader and readFile recover it.
// Allocating would fail the same way later, when the data is short, after
// the system had been asked for the memory (or, above what it can give,
// the process had died).
func newBoundedAllocator(mem memory.Allocator, size int64) memory.Allocator {
	limit := int64(minIPCAllocLimit)
	if size < (1<<62)/maxDecompressionRatio {
		limit = max(limit, size*maxDecompressionRatio)
	} else {
		limit = 1 << 62
	}
	return &checkedAllocator{Allocator: mem, check: func(n int) {
		if int64(n) > limit {
			panic(fmt.Errorf("%w: the file is corrupt: it declares a buffer of %d bytes, more than a file of %d bytes can hold; re-create it", ErrBadInput, n, size))
		}
	}}
}

// checkedAllocator is an Allocator that hands the size of every buffer
// asked of it to check first, which may refuse it by panicking.
type checkedAllocator struct {
	memory.Allocator
	check func(size int)
}

func (a *checkedAllocator) Allocate(size int) []byte {
	a.check(size)
	return a.Allocator.Allocate(size)
}

func (a *checkedAllocator) Reallocate(size int, b []byte) []byte {
	a.check(size)
	return a.Allocator.Reallocate(size, b)
}
