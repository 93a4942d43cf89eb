package pipeline

import (
	"math"
	"slices"
)

// MaxFeatureMagnitude bounds the raw feature values vaejob computes with.
// A value whose magnitude is above it (a sentinel such as ±3.4e38, the
// largest float32) is treated as missing, as NaN and ±Inf are: float32
// holds at most about 3.4e38, so the differences, ranges and sums that
// scaling and scoring take of such values would overflow. Every reader of
// raw features (the table reader, the Go scorer, the ONNX graph) uses this
// one bound.
const MaxFeatureMagnitude = 1e30

// IsMissing reports whether v stands for a missing value: NaN (a null reads
// as NaN), ±Inf, or a value beyond ±MaxFeatureMagnitude.
func IsMissing(v float32) bool {
	return !(math.Abs(float64(v)) <= MaxFeatureMagnitude)
}

// isNonFinite reports whether v is NaN or ±Inf: what the earlier model
// format (see Model.LegacyMissing) took for missing.
func isNonFinite(v float32) bool {
	return math.IsNaN(float64(v)) || math.IsInf(float64(v), 0)
}

// CountMissing returns, per column of the row-major matrix x with d
// columns, how many values are missing (see IsMissing).
func CountMissing(x []float32, d int) []int {
	n := len(x) / d
	pieces := PieceResults(n, rowPieceRows, func(lo, hi int) []int {
		counts := make([]int, d)
		for r := lo; r < hi; r++ {
			for j, v := range x[r*d : (r+1)*d] {
				if IsMissing(v) {
					counts[j]++
				}
			}
		}
		return counts
	})
	counts := make([]int, d)
	for _, p := range pieces {
		for j, c := range p {
			counts[j] += c
		}
	}
	return counts
}

// CompleteRows returns the indices of the rows of x with no missing value,
// in increasing order.
func CompleteRows(x []float32, d int) []int {
	n := len(x) / d
	return slices.Concat(PieceResults(n, rowPieceRows, func(lo, hi int) []int {
		var keep []int
		for r := lo; r < hi; r++ {
			if !slices.ContainsFunc(x[r*d:(r+1)*d], IsMissing) {
				keep = append(keep, r)
			}
		}
		return keep
	})...)
}

// FitMedians returns each column's median over the given rows of x,
// ignoring missing values. A column with no value at all in those rows (a
// sensor offline all day) gets 0, and its index is returned in empty, so
// that the caller can decide what the column means.
func FitMedians(x []float32, d int, rows []int) (med []float32, empty []int) {
	med = make([]float32, d)
	isEmpty := make([]bool, d)
	EachColumn(d, len(rows), func(j int) {
		col := make([]float32, 0, len(rows))
		for _, r := range rows {
			if v := x[r*d+j]; !IsMissing(v) {
				col = append(col, v)
			}
		}
		if len(col) == 0 {
			isEmpty[j] = true
			return
		}
		med[j] = QuantileInPlace(col, 0.5)
	})
	for j, e := range isEmpty {
		if e {
			empty = append(empty, j)
		}
	}
	return med, empty
}

// Impute replaces, in place, every missing value of x in column j with
// values[j].
func Impute(x []float32, values []float32) {
	d := len(values)
	for i, v := range x {
		if IsMissing(v) {
			x[i] = values[i%d]
		}
	}
}
