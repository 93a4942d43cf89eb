package jobs

import (
	"flag"
	"os"
	"path/filepath"
	"testing"
)

// updateGolden rewrites jobs' golden files (testdata/*/*.golden) with what
// the code now writes: go test ./jobs -run NAME -update. Check the change
// with git diff before committing it.
var updateGolden = flag.Bool("update", false, "rewrite the golden files in testdata/")

// checkGolden compares got with the golden file testdata/name (rewriting
// it with -update).
func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *updateGolden {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./jobs -run %s -update to write it)", err, t.Name())
	}
	if got != string(want) {
		t.Errorf("output differs from %s (rerun with -update and check git diff if the change is meant):\n--- got\n%s--- want\n%s", path, got, want)
	}
}
