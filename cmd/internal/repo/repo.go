// Package repo locates the vaejob checkout for the benchmark commands,
// which read scripts from their testdata folders.
package repo

import (
	"os"
	"path/filepath"
)

// Root returns the folder holding go.mod, searched from the working
// directory up; the working directory itself when there is none.
func Root() string {
	dir, _ := os.Getwd()
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d
		}
		if d == filepath.Dir(d) {
			return dir
		}
	}
}
