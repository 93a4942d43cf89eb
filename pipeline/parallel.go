package pipeline

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// Work that runs on several cores is split into fixed pieces: how many,
// and where they begin and end, depends on the size of the work only
// (Pieces), never on the number of processors. Each then runs the pieces
// on as many goroutines as GOMAXPROCS allows, and a result combined from
// the pieces' results in piece order is the same on any number of cores.

// rowPieceRows is the fewest rows a piece of a pass over rows (gathering,
// selecting columns, counting missing values, ranges) holds.
const rowPieceRows = 8192

// maxPieces bounds the number of pieces Pieces splits work into.
const maxPieces = 64

// Pieces returns how many pieces n items split into: as many as hold at
// least minLen items each, at least 1 and at most maxPieces.
func Pieces(n, minLen int) int {
	return max(1, min(n/max(minLen, 1), maxPieces))
}

// piece returns the items [lo, hi) of piece i of n items split into k
// pieces of about equal length.
func piece(n, k, i int) (lo, hi int) {
	return i * n / k, (i + 1) * n / k
}

// Each runs work(i) for every i < n on up to GOMAXPROCS goroutines, each
// taking the next i not yet taken, and returns when all have run. Work on
// one i must not touch another's results.
func Each(n int, work func(i int)) {
	workers := min(runtime.GOMAXPROCS(0), n)
	if workers <= 1 {
		for i := range n {
			work(i)
		}
		return
	}
	var next atomic.Int64
	take := func() {
		for {
			i := int(next.Add(1)) - 1
			if i >= n {
				return
			}
			work(i)
		}
	}
	var wg sync.WaitGroup
	for range workers - 1 {
		wg.Go(take)
	}
	take()
	wg.Wait()
}

// EachPiece splits n items into Pieces(n, minLen) pieces and runs work on
// each (see Each) with its index and its items [lo, hi).
func EachPiece(n, minLen int, work func(i, lo, hi int)) {
	k := Pieces(n, minLen)
	Each(k, func(i int) {
		lo, hi := piece(n, k, i)
		work(i, lo, hi)
	})
}

// PieceResults splits n items as EachPiece does, runs work on each
// piece's items [lo, hi) and returns the pieces' results in piece order,
// for the caller to combine in that order.
func PieceResults[T any](n, minLen int, work func(lo, hi int) T) []T {
	out := make([]T, Pieces(n, minLen))
	EachPiece(n, minLen, func(i, lo, hi int) { out[i] = work(lo, hi) })
	return out
}
