package jobs

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
)

// TestCancelReader: the reader passes the bytes and the end of its source
// through, and a read that waits on a source that never sends returns the
// context's error once it is cancelled.
func TestCancelReader(t *testing.T) {
	b, err := io.ReadAll(newCancelReader(context.Background(), strings.NewReader(strings.Repeat("xyz", 50_000))))
	if err != nil || string(b) != strings.Repeat("xyz", 50_000) {
		t.Fatalf("read %d bytes, %v", len(b), err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe() // nothing is ever written
	defer pw.Close()
	r := newCancelReader(ctx, pr)
	done := make(chan error, 1)
	go func() {
		_, err := r.Read(make([]byte, 10))
		done <- err
	}()
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("a cancelled read: %v", err)
	}
	if _, err := r.Read(make([]byte, 10)); !errors.Is(err, context.Canceled) {
		t.Errorf("a read after the cancellation: %v", err)
	}
}

// TestCancelWriter: the writer passes the bytes through, and a write that
// waits on a reader that never reads returns the context's error once it
// is cancelled.
func TestCancelWriter(t *testing.T) {
	var b strings.Builder
	w := newCancelWriter(context.Background(), &b)
	for range 50_000 {
		if _, err := w.Write([]byte("xyz")); err != nil {
			t.Fatal(err)
		}
	}
	if b.String() != strings.Repeat("xyz", 50_000) {
		t.Fatalf("wrote %d bytes", b.Len())
	}
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe() // nothing is ever read
	defer pr.Close()
	w = newCancelWriter(ctx, pw)
	done := make(chan error, 1)
	go func() {
		_, err := w.Write(make([]byte, 10))
		done <- err
	}()
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("a cancelled write: %v", err)
	}
	if _, err := w.Write(make([]byte, 10)); !errors.Is(err, context.Canceled) {
		t.Errorf("a write after the cancellation: %v", err)
	}
}
