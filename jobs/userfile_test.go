package jobs

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestUserFilesRefuseSpecial: --model and --config naming a FIFO, a device
// or a directory are refused at once (a FIFO opened for reading would
// block until a writer came), as bad input for --model and as a usage
// error for --config, as a missing file of each is; the message names the
// flag, the path and what it is. A model or config over its bound is
// refused too.
func TestUserFilesRefuseSpecial(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := mkfifo(fifo); err != nil {
		t.Skipf("cannot make a FIFO: %v", err)
	}
	bigConfig := filepath.Join(dir, "big.yaml")
	if err := os.WriteFile(bigConfig, []byte(strings.Repeat("#", maxConfigBytes+1)), 0o644); err != nil {
		t.Fatal(err)
	}
	hugeModel := filepath.Join(dir, "huge.onnx")
	if err := os.WriteFile(hugeModel, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(hugeModel, maxModelBytes+1); err != nil {
		t.Skipf("cannot make a sparse file: %v", err)
	}
	readers := []struct {
		flag string
		kind error
		read func(path string) error
	}{
		{"--model", ErrBadInput, func(p string) error { _, err := readModelFile(p); return err }},
		{"--config", ErrUsage, func(p string) error { _, err := ReadConfigFile(p, []string{"input"}); return err }},
	}
	paths := []struct{ name, path, says, only string }{
		{"fifo", fifo, "named pipe (FIFO)", ""},
		{"device", os.DevNull, "character device", ""},
		{"directory", dir, "directory", ""},
		{"missing", filepath.Join(dir, "missing"), "check the path", ""},
		{"big config", bigConfig, "larger than 1048576 bytes", "--config"},
		{"huge model", hugeModel, "larger than 2147483648 bytes", "--model"},
	}
	for _, r := range readers {
		for _, p := range paths {
			if p.only != "" && p.only != r.flag {
				continue
			}
			t.Run(r.flag+"/"+p.name, func(t *testing.T) {
				done := make(chan error, 1)
				go func() { done <- r.read(p.path) }()
				var err error
				select {
				case err = <-done:
				case <-time.After(5 * time.Second):
					t.Fatalf("still blocked after 5s")
				}
				if !errors.Is(err, r.kind) || !strings.Contains(err.Error(), r.flag) || !strings.Contains(err.Error(), p.says) {
					t.Errorf("err = %v, want %v naming %s and saying %q", err, r.kind, r.flag, p.says)
				}
			})
		}
	}
}
