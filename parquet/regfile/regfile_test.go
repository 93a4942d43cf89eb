package regfile

import (
	"errors"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// within runs f, failing the test if it has not returned after a few
// seconds: a regression that blocks in open(2) fails rather than hangs.
func within(t *testing.T, what string, f func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- f() }()
	select {
	case err := <-done:
		return err
	case <-time.After(5 * time.Second):
		t.Fatalf("%s still blocked after 5s", what)
		return nil
	}
}

// TestSpecialFiles: a directory, FIFO, socket or device is a
// *NotRegularError naming its kind, found without blocking, from Open and
// ReadFile alike; so is a FIFO swapped in after the stat (openRegular).
func TestSpecialFiles(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := mkfifo(fifo); err != nil {
		t.Skipf("cannot make a FIFO: %v", err)
	}
	sock := filepath.Join(dir, "sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Skipf("cannot make a socket: %v", err)
	}
	defer l.Close()
	tests := []struct{ name, path, kind string }{
		{"fifo", fifo, "named pipe (FIFO)"},
		{"socket", sock, "socket"},
		{"device", os.DevNull, "character device"},
		{"directory", dir, "directory"},
	}
	opens := map[string]func(string) error{
		"Open": func(p string) error {
			f, _, err := Open(p)
			if f != nil {
				f.Close()
			}
			return err
		},
		"ReadFile": func(p string) error {
			_, err := ReadFile(p, 1<<20)
			return err
		},
		"openRegular": func(p string) error {
			f, _, err := openRegular(p)
			if f != nil {
				f.Close()
			}
			return err
		},
	}
	for _, tt := range tests {
		for name, open := range opens {
			if name == "openRegular" && tt.name != "fifo" {
				continue // the step after the stat matters for a FIFO swapped in meanwhile
			}
			t.Run(tt.name+"/"+name, func(t *testing.T) {
				err := within(t, name, func() error { return open(tt.path) })
				var nr *NotRegularError
				if !errors.As(err, &nr) || nr.Path != tt.path || !strings.Contains(err.Error(), tt.kind) {
					t.Errorf("err = %v, want a NotRegularError naming %s a %s", err, tt.path, tt.kind)
				}
			})
		}
	}
}

// TestReadFile: a file up to the limit is read whole; one over it is a
// *TooLargeError found from its size (a sparse file of 3 GiB is refused
// without reading it); a missing file keeps fs.ErrNotExist.
func TestReadFile(t *testing.T) {
	dir := t.TempDir()
	small := filepath.Join(dir, "small")
	if err := os.WriteFile(small, []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	huge := filepath.Join(dir, "huge")
	if err := os.WriteFile(huge, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(huge, 3<<30); err != nil {
		t.Skipf("cannot make a sparse file: %v", err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(small, link); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		path  string
		limit int64
		want  string // the contents; "" with tooLarge or notExist
		large bool
		gone  bool
	}{
		{"within the limit", small, 5, "hello", false, false},
		{"empty", empty, 0, "", false, false},
		{"over the limit", small, 4, "", true, false},
		{"sparse 3 GiB over 2 GiB", huge, 2 << 30, "", true, false},
		{"symbolic link", link, 100, "hello", false, false},
		{"missing", filepath.Join(dir, "missing"), 100, "", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := ReadFile(tt.path, tt.limit)
			var tl *TooLargeError
			switch {
			case tt.large:
				if !errors.As(err, &tl) || tl.Limit != tt.limit || !strings.Contains(err.Error(), "larger than") {
					t.Errorf("err = %v, want a TooLargeError", err)
				}
			case tt.gone:
				if !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("err = %v, want fs.ErrNotExist", err)
				}
			case err != nil:
				t.Fatal(err)
			case string(b) != tt.want:
				t.Errorf("read %q, want %q", b, tt.want)
			}
		})
	}
}

// TestOpenNoFollow: a regular file is created and opened; a symbolic link
// (even to a regular file), a FIFO and a directory are *NotRegularError,
// found without blocking, and the link's target is left alone.
func TestOpenNoFollow(t *testing.T) {
	dir := t.TempDir()
	f, err := OpenNoFollow(filepath.Join(dir, "new"), os.O_WRONLY|os.O_CREATE)
	if err != nil {
		t.Fatalf("new file: %v", err)
	}
	f.Close()
	target := filepath.Join(dir, "target")
	if err := os.WriteFile(target, []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	fifo := filepath.Join(dir, "fifo")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	refused := []string{link, dir}
	if err := mkfifo(fifo); err == nil {
		refused = append(refused, fifo)
	} else if runtime.GOOS != "windows" {
		t.Fatal(err)
	}
	for _, p := range refused {
		err := within(t, p, func() error {
			f, err := OpenNoFollow(p, os.O_WRONLY|os.O_APPEND|os.O_CREATE)
			if err == nil {
				f.Close()
			}
			return err
		})
		var nr *NotRegularError
		if !errors.As(err, &nr) {
			t.Errorf("%s: err = %v, want *NotRegularError", p, err)
		}
	}
	if b, _ := os.ReadFile(target); string(b) != "keep" {
		t.Errorf("the link's target holds %q", b)
	}
}
