package parquet

import (
	"os"
	"syscall"
	"testing"
)

// TestPrepareHeap checks that memory allocated after PrepareHeap faults in
// huge pages: touching 64 MiB takes 16,384 page faults in 4 KiB pages and
// a few dozen in 2 MiB ones.
func TestPrepareHeap(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector's shadow memory adds its own page faults")
	}
	if !hugePagesOnRequest() {
		mode, _ := os.ReadFile("/sys/kernel/mm/transparent_hugepage/enabled")
		t.Skipf("transparent huge pages are not given on request here (%q)", mode)
	}
	faults := func() int64 {
		var ru syscall.Rusage
		if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
			t.Fatal(err)
		}
		return ru.Minflt
	}
	PrepareHeap()
	before := faults()
	b := make([]byte, 64<<20)
	for i := 0; i < len(b); i += 4096 {
		b[i] = 1
	}
	n := faults() - before
	t.Logf("%d page faults touching 64 MiB after PrepareHeap", n)
	if n > 4096 {
		t.Errorf("%d page faults touching 64 MiB: the memory is not in huge pages", n)
	}
}
