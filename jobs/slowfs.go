//go:build vaejob_slowfs

package jobs

import (
	"io/fs"
	"os"
	"time"
)

// A binary built with -tags vaejob_slowfs sleeps $VAEJOB_SLOWFS_STEP (a
// duration) before every step it takes in --out, so that a test can kill it
// at a chosen moment of publishing (see TestKilledWhilePublishing in
// cmd/vaejob). Release builds do not have this file.
func init() {
	if d, err := time.ParseDuration(os.Getenv("VAEJOB_SLOWFS_STEP")); err == nil && d > 0 {
		diskFS = slowFS{base: diskFS, step: d}
	}
}

// slowFS delays each step of base.
type slowFS struct {
	base fileSystem
	step time.Duration
}

func (s slowFS) wait() { time.Sleep(s.step) }

func (s slowFS) Mkdir(name string, perm fs.FileMode) error { s.wait(); return s.base.Mkdir(name, perm) }
func (s slowFS) MkdirAll(name string, perm fs.FileMode) error {
	s.wait()
	return s.base.MkdirAll(name, perm)
}
func (s slowFS) Rename(oldpath, newpath string) error {
	s.wait()
	return s.base.Rename(oldpath, newpath)
}
func (s slowFS) Symlink(oldname, newname string) error {
	s.wait()
	return s.base.Symlink(oldname, newname)
}
func (s slowFS) Remove(name string) error    { s.wait(); return s.base.Remove(name) }
func (s slowFS) RemoveAll(name string) error { s.wait(); return s.base.RemoveAll(name) }
func (s slowFS) SyncDir(name string) error   { s.wait(); return s.base.SyncDir(name) }

func (s slowFS) OpenFile(name string, flag int) (ownedFile, error) {
	s.wait()
	f, err := s.base.OpenFile(name, flag)
	if err != nil {
		return nil, err
	}
	return slowFile{ownedFile: f, s: s}, nil
}

// slowFile delays the writes and syncs of a file.
type slowFile struct {
	ownedFile
	s slowFS
}

func (f slowFile) Write(b []byte) (int, error) { f.s.wait(); return f.ownedFile.Write(b) }
func (f slowFile) Sync() error                 { f.s.wait(); return f.ownedFile.Sync() }
