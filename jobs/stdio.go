package jobs

import (
	"context"
	"io"
)

// cancelReader reads r, but gives up waiting when ctx is cancelled: a read
// of standard input blocks until the writer at the other end of the pipe
// sends or closes, which a signal would otherwise have to wait for.
type cancelReader struct {
	ctx context.Context
	r   io.Reader
	own ownBuffer
}

// newCancelReader returns r read as cancelReader reads it.
func newCancelReader(ctx context.Context, r io.Reader) io.Reader {
	return &cancelReader{ctx: ctx, r: r}
}

func (c *cancelReader) Read(p []byte) (int, error) {
	// Read into a buffer of our own, so that a read given up on never
	// writes into p after Read has returned.
	buf := c.own.get(len(p))
	n, err := c.own.await(c.ctx, func() (int, error) { return c.r.Read(buf) })
	return copy(p, buf[:n]), err
}

// cancelWriter writes w, but gives up waiting when ctx is cancelled: a
// write to standard output blocks while the reader at the other end of
// the pipe does not read, which a signal would otherwise have to wait for.
type cancelWriter struct {
	ctx context.Context
	w   io.Writer
	own ownBuffer
}

// newCancelWriter returns w written as cancelWriter writes it.
func newCancelWriter(ctx context.Context, w io.Writer) io.Writer {
	return &cancelWriter{ctx: ctx, w: w}
}

func (c *cancelWriter) Write(p []byte) (int, error) {
	// Write from a buffer of our own, so that a write given up on never
	// reads p after Write has returned (the caller reuses it).
	buf := c.own.get(len(p))
	copy(buf, p)
	return c.own.await(c.ctx, func() (int, error) { return c.w.Write(buf) })
}

// ownBuffer is the buffer a cancelReader or cancelWriter hands to its
// reads or writes, each run on a goroutine of its own; one given up on is
// left to finish when it may (the process is about to exit), and the
// buffer it holds is never handed out again.
type ownBuffer struct{ buf []byte }

// get returns the buffer with length n.
func (o *ownBuffer) get(n int) []byte {
	if cap(o.buf) < n {
		o.buf = make([]byte, n)
	}
	return o.buf[:n]
}

// await runs op, on the buffer get returned, on a goroutine and waits for
// it or for ctx: cancelled first, it returns 0 and ctx's error and drops
// the buffer.
func (o *ownBuffer) await(ctx context.Context, op func() (int, error)) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	type result struct {
		n   int
		err error
	}
	done := make(chan result, 1)
	go func() {
		n, err := op()
		done <- result{n, err}
	}()
	select {
	case res := <-done:
		return res.n, res.err
	case <-ctx.Done():
		o.buf = nil // still being read or written
		return 0, ctx.Err()
	}
}
