package pipeline

import (
	"errors"
	"fmt"
	"math"
	"math/rand"
	"sort"
)

// ErrTooFewRows reports a table too small to split into training and
// validation rows.
var ErrTooFewRows = errors.New("too few rows")

// Split holds the row indices of the training and validation sets.
type Split struct {
	Train, Validation []int
}

// MinTrainRows and MinValidationRows are the smallest split sizes a run
// accepts: fewer training rows cannot fit a scaler and a network, and a
// threshold needs at least a few validation scores.
const (
	MinTrainRows      = 2
	MinValidationRows = 1
)

// RandomSplit shuffles the indices 0..n-1 with rng and puts a fraction of
// them (rounded to the nearest row) into the validation set. Both index
// lists are returned sorted by a seeded permutation, so the split depends only
// on n, fraction and the rng's seed.
func RandomSplit(n int, fraction float64, rng *rand.Rand) (Split, error) {
	_, nVal, err := splitSizes(n, fraction)
	if err != nil {
		return Split{}, err
	}
	perm := rng.Perm(n)
	return Split{Train: perm[nVal:], Validation: perm[:nVal]}, nil
}

// splitSizes returns how many of n rows train and validate.
func splitSizes(n int, fraction float64) (nTrain, nVal int, err error) {
	if !(fraction > 0 && fraction < 1) {
		return 0, 0, fmt.Errorf("validation fraction %g: want a number between 0 and 1 (exclusive)", fraction)
	}
	nVal = int(math.Round(float64(n) * fraction))
	nTrain = n - nVal
	if nVal < MinValidationRows || nTrain < MinTrainRows {
		return 0, 0, fmt.Errorf("%w: %d rows give %d training and %d validation rows at validation fraction %g; need at least %d and %d",
			ErrTooFewRows, n, nTrain, nVal, fraction, MinTrainRows, MinValidationRows)
	}
	return nTrain, nVal, nil
}

// TimeSplit puts the most recent fraction of the rows (by times, ties
// broken by row order) into the validation set, so that the threshold is
// chosen on the newest data, as it will be used. Both index lists are in
// time order.
func TimeSplit(times []float64, fraction float64) (Split, error) {
	n := len(times)
	nTrain, _, err := splitSizes(n, fraction)
	if err != nil {
		return Split{}, err
	}
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return times[order[a]] < times[order[b]] })
	return Split{Train: order[:nTrain], Validation: order[nTrain:]}, nil
}

// Gather copies the rows with the given indices out of x (row-major, d
// values a row) into a new slice.
func Gather(x []float32, d int, idx []int) []float32 {
	out := make([]float32, len(idx)*d)
	EachPiece(len(idx), rowPieceRows, func(_, lo, hi int) {
		for k, i := range idx[lo:hi] {
			copy(out[(lo+k)*d:(lo+k+1)*d], x[i*d:(i+1)*d])
		}
	})
	return out
}
