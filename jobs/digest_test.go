package jobs

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/vaejob/vaejob/parquet"
)

// TestDigestInputsInFileOrder checks that the files' digests, taken on
// several goroutines, come back in the files' order and combine in that
// order, on any number of cores, and that a file that cannot be read
// gives the first such file's error.
func TestDigestInputsInFileOrder(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	dir := t.TempDir()
	var files []parquet.Input
	var contents [][]byte
	// More files than cores, of sizes that take different times to read.
	for i := range 9 {
		b := make([]byte, (9-i)*100000+i)
		for j := range b {
			b[j] = byte(i*7 + j)
		}
		p := filepath.Join(dir, fmt.Sprintf("part-%d.parquet", i))
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, parquet.Input{Path: p, Size: int64(len(b))})
		contents = append(contents, b)
	}
	lines := sha256.New()
	for i, f := range files {
		fmt.Fprintf(lines, "%s  %s\n", sha256Hex(contents[i]), f.Path)
	}
	wantCombined := hex.EncodeToString(lines.Sum(nil))
	missing := []parquet.Input{files[0], {Path: filepath.Join(dir, "gone-1.parquet")}, files[1], {Path: filepath.Join(dir, "gone-2.parquet")}}
	for _, procs := range []int{1, 2, 4, 16} {
		runtime.GOMAXPROCS(procs)
		got := digestInputs(context.Background(), files, DigestSHA256)
		if got.err != nil {
			t.Fatalf("GOMAXPROCS %d: %v", procs, got.err)
		}
		for i, f := range got.files {
			if f.Path != files[i].Path || f.SHA256 != sha256Hex(contents[i]) || f.Size != int64(len(contents[i])) {
				t.Errorf("GOMAXPROCS %d: file %d is %+v, want %s of %d bytes", procs, i, f, files[i].Path, len(contents[i]))
			}
		}
		if got.combined != wantCombined {
			t.Errorf("GOMAXPROCS %d: combined digest %s, want %s (the files' lines in order)", procs, got.combined, wantCombined)
		}
		one := digestInputs(context.Background(), files[3:4], DigestSHA256)
		if one.combined != sha256Hex(contents[3]) {
			t.Errorf("GOMAXPROCS %d: one file's combined digest %s, want the file's own", procs, one.combined)
		}
		bad := digestInputs(context.Background(), missing, DigestSHA256)
		if bad.err == nil || !strings.Contains(bad.err.Error(), "gone-1.parquet") {
			t.Errorf("GOMAXPROCS %d: err = %v, want the first missing file's", procs, bad.err)
		}
	}
}
