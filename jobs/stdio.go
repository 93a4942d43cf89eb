package jobs

import (
	"context"
	"io"
)

// cancelReader reads r, but gives up waiting when ctx is cancelled: a read
// of standard input blocks until the writer at the other end of the pipe
// sends or closes, which a signal would otherwise have to wait for. Each
// read runs on a goroutine of its own; one given up on is left to finish
// when it may (the process is about to exit), and its bytes are dropped.
type cancelReader struct {
	ctx context.Context
	r   io.Reader
	buf []byte // the abandoned read's buffer is never handed out again
}

// newCancelReader returns r read as cancelReader reads it.
func newCancelReader(ctx context.Context, r io.Reader) io.Reader {
	return &cancelReader{ctx: ctx, r: r}
}

type readResult struct {
	n   int
	err error
}

func (c *cancelReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	// Read into a buffer of our own, so that a read given up on never
	// writes into p after Read has returned.
	if cap(c.buf) < len(p) {
		c.buf = make([]byte, len(p))
	}
	buf := c.buf[:len(p)]
	done := make(chan readResult, 1)
	go func() {
		n, err := c.r.Read(buf)
		done <- readResult{n, err}
	}()
	select {
	case res := <-done:
		return copy(p, buf[:res.n]), res.err
	case <-c.ctx.Done():
		c.buf = nil // still being written
		return 0, c.ctx.Err()
	}
}
