package pipeline

import (
	"fmt"
	"runtime"
	"testing"
)

// ExamplePieceResults sums a million values in pieces fixed by their
// number, then adds the pieces' sums in piece order: the total is the same
// bits however many goroutines ran the pieces.
func ExamplePieceResults() {
	x := make([]float64, 1_000_000)
	for i := range x {
		x[i] = 1 / float64(i+1)
	}
	sums := PieceResults(len(x), 8192, func(lo, hi int) float64 {
		var s float64
		for _, v := range x[lo:hi] {
			s += v
		}
		return s
	})
	var total float64
	for _, s := range sums {
		total += s
	}
	fmt.Println(len(sums), total)
	// Output: 64 14.392726722865719
}

// TestEachRunsEveryIndexOnce runs Each with several GOMAXPROCS and checks
// that every index ran exactly once, and that Pieces and Piece cover the
// items without gaps whatever the count.
func TestEachRunsEveryIndexOnce(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	for _, procs := range []int{1, 2, 7} {
		runtime.GOMAXPROCS(procs)
		for _, n := range []int{0, 1, 5, 100} {
			ran := make([]int, n)
			Each(n, func(i int) { ran[i]++ })
			for i, c := range ran {
				if c != 1 {
					t.Fatalf("GOMAXPROCS=%d, n=%d: index %d ran %d times", procs, n, i, c)
				}
			}
		}
	}
	for _, tc := range []struct{ n, minLen, want int }{
		{0, 10, 1}, {9, 10, 1}, {25, 10, 2}, {1 << 20, 1, maxPieces},
	} {
		k := Pieces(tc.n, tc.minLen)
		if k != tc.want {
			t.Errorf("Pieces(%d, %d) = %d, want %d", tc.n, tc.minLen, k, tc.want)
		}
		next := 0
		for i := range k {
			lo, hi := piece(tc.n, k, i)
			if lo != next || hi < lo {
				t.Fatalf("piece(%d, %d, %d) = [%d, %d), want to start at %d", tc.n, k, i, lo, hi, next)
			}
			next = hi
		}
		if next != tc.n {
			t.Errorf("pieces of %d items end at %d", tc.n, next)
		}
	}
}
