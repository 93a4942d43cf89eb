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

// MaxPieces bounds the number of pieces Pieces splits work into.
const MaxPieces = 64

// Pieces returns how many pieces n items split into: as many as hold at
// least minLen items each, at least 1 and at most MaxPieces.
func Pieces(n, minLen int) int {
	return max(1, min(n/max(minLen, 1), MaxPieces))
}

// Piece returns the items [lo, hi) of piece i of n items split into k
// pieces of about equal length.
func Piece(n, k, i int) (lo, hi int) {
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
func EachPiece(n, minLen int, work func(i, lo, hi int)) int {
	k := Pieces(n, minLen)
	Each(k, func(i int) {
		lo, hi := Piece(n, k, i)
		work(i, lo, hi)
	})
	return k
}
