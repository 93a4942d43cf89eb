package onnx

import (
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/vaejob/vaejob/pipeline"
)

// ErrMismatch is wrapped by the error Verify returns when scores or alert
// flags disagree.
var ErrMismatch = errors.New("onnx scores disagree")

// Tolerance is the relative tolerance of score comparisons: two scores a and
// b agree when |a-b| <= Tolerance * max(1, |b|), or both are NaN. It is
// pipeline.ScoreTolerance, the margin every threshold keeps from the
// validation scores.
const Tolerance = pipeline.ScoreTolerance

// maxMismatches is how many mismatches a Report keeps.
const maxMismatches = 10

// ScoresAgree reports whether score a agrees with the reference b within
// Tolerance. NaN agrees only with NaN, and an infinity only with itself.
func ScoresAgree(a, b float32) bool {
	an, bn := a != a, b != b
	if an || bn {
		return an && bn
	}
	if math.IsInf(float64(a), 0) || math.IsInf(float64(b), 0) {
		return a == b
	}
	return math.Abs(float64(a)-float64(b)) <= Tolerance*math.Max(1, math.Abs(float64(b)))
}

// Report is the outcome of Verify.
type Report struct {
	// Rows is the number of caller rows checked; TestVectorRows the number of
	// rows of the embedded test vector checked.
	Rows, TestVectorRows int
	// Threshold is the decoded model's threshold.
	Threshold float32
	// MaxAbsErr is the largest |a-b| of all finite score comparisons, and
	// MaxRelErr the largest |a-b| / max(1, |b|).
	MaxAbsErr, MaxRelErr float64
	// Checks counts the comparisons made and Failed those that failed.
	Checks, Failed int
	// Mismatches holds the first failed comparisons.
	Mismatches []Mismatch
}

// Mismatch is one failed comparison.
type Mismatch struct {
	Check string // which comparison, e.g. "onnx-go vs go scorer"
	Row   int
	Got   float32
	Want  float32
	// Detail explains flag mismatches.
	Detail string
}

func (m Mismatch) String() string {
	if m.Detail != "" {
		return fmt.Sprintf("%s, row %d: %s", m.Check, m.Row, m.Detail)
	}
	return fmt.Sprintf("%s, row %d: got %v, want %v", m.Check, m.Row, m.Got, m.Want)
}

func (r *Report) score(check string, row int, got, want float32) {
	r.Checks++
	if !math.IsNaN(float64(got)) && !math.IsNaN(float64(want)) && !math.IsInf(float64(got), 0) && !math.IsInf(float64(want), 0) {
		abs := math.Abs(float64(got) - float64(want))
		r.MaxAbsErr = math.Max(r.MaxAbsErr, abs)
		r.MaxRelErr = math.Max(r.MaxRelErr, abs/math.Max(1, math.Abs(float64(want))))
	}
	if !ScoresAgree(got, want) {
		r.fail(Mismatch{Check: check, Row: row, Got: got, Want: want})
	}
}

// tail checks a runtime's tail probability got of a row whose score the
// reference gives as score: got must be what tab gives some score within
// Tolerance of it (tab's probability falls with the score, so a runtime
// whose score agrees reads a probability in that range), and 0 for NaN.
func (r *Report) tail(check string, row int, got, score float32, tab *pipeline.TailReader) {
	r.Checks++
	ok := got == 0
	if score == score {
		margin := float32(0) // an infinite score has none
		if !math.IsInf(float64(score), 0) {
			margin = float32(Tolerance * math.Max(1, math.Abs(float64(score))))
		}
		ok = got >= tab.Probability(score+margin) && got <= tab.Probability(score-margin)
	}
	if !ok {
		r.fail(Mismatch{Check: check, Row: row, Got: got, Want: tab.Probability(score),
			Detail: fmt.Sprintf("tail probability %v for score %v, want %v", got, score, tab.Probability(score))})
	}
}

func (r *Report) flag(check string, row int, score float32, got bool) {
	r.Checks++
	if want := pipeline.IsAnomaly(score, r.Threshold); got != want {
		r.fail(Mismatch{Check: check, Row: row, Got: score, Want: r.Threshold,
			Detail: fmt.Sprintf("is_anomaly=%v for score %v and threshold %v", got, score, r.Threshold)})
	}
}

func (r *Report) fail(m Mismatch) {
	r.Failed++
	if len(r.Mismatches) < maxMismatches {
		r.Mismatches = append(r.Mismatches, m)
	}
}

// Err returns nil when every check passed, else an error wrapping
// ErrMismatch that names the first mismatches.
func (r *Report) Err() error {
	if r.Failed == 0 {
		return nil
	}
	first := make([]string, len(r.Mismatches))
	for i, m := range r.Mismatches {
		first[i] = m.String()
	}
	return fmt.Errorf("%w: %d of %d checks failed (max abs error %.3g, max rel error %.3g); first: %s",
		ErrMismatch, r.Failed, r.Checks, r.MaxAbsErr, r.MaxRelErr, strings.Join(first, "; "))
}

// Verify decodes an ONNX file written by Encode and checks it three ways on
// the n raw rows in rows (row-major) and on the test vector embedded in its
// metadata:
//
//   - the graph evaluated by onnx-go's decoding (Graph.RunAll) against the Go
//     scorer (pipeline.Scorer) of the decoded Model: scores, and tail
//     probabilities where the graph has them (see Report.tail);
//   - both against want, recorded scores of the same rows, when want is not
//     nil, and against the test vector's recorded scores (and tail
//     probabilities);
//   - the graph's is_anomaly against its own score and threshold.
//
// Scores agree within Tolerance. A file that does not decode gives that
// error; disagreements give the Report and an error wrapping ErrMismatch.
func Verify(data []byte, rows []float32, n int, want []float32) (*Report, error) {
	g, m, meta, err := decodeAll(data)
	if err != nil {
		return nil, fmt.Errorf("verify onnx: %w", err)
	}
	d := m.Dim()
	if n < 0 || len(rows) != n*d {
		return nil, fmt.Errorf("verify onnx: %d values for %d rows of %d features", len(rows), n, d)
	}
	if want != nil && len(want) != n {
		return nil, fmt.Errorf("verify onnx: %d recorded scores for %d rows", len(want), n)
	}
	tv := meta.TestVector
	if len(tv.Rows) != len(tv.Scores) || tv.TailProbability != nil && len(tv.TailProbability) != len(tv.Rows) {
		return nil, fmt.Errorf("verify onnx: test vector has %d rows, %d scores and %d tail probabilities", len(tv.Rows), len(tv.Scores), len(tv.TailProbability))
	}
	r := &Report{Rows: n, TestVectorRows: len(tv.Rows), Threshold: m.Threshold}
	scorer := pipeline.NewScorer(m)
	tab := m.Tail.Reader()

	check := func(label string, x []float32, n int, recorded, recordedTail []float32) error {
		out, err := g.RunAll(x, n)
		if err != nil {
			return err
		}
		got := out.Score
		for i := 0; i < n; i++ {
			goScore := scorer.Score(x[i*d : (i+1)*d])
			r.score("onnx-go vs go scorer"+label, i, got[i], goScore)
			r.flag("onnx-go is_anomaly"+label, i, got[i], out.IsAnomaly[i])
			if out.TailProbability != nil {
				r.tail("onnx-go tail_probability vs go scorer"+label, i, out.TailProbability[i], goScore, tab)
			}
			if recorded != nil {
				r.score("go scorer vs recorded"+label, i, goScore, recorded[i])
				r.score("onnx-go vs recorded"+label, i, got[i], recorded[i])
			}
			if recordedTail != nil {
				r.tail("recorded tail_probability vs go scorer"+label, i, recordedTail[i], goScore, tab)
			}
		}
		return nil
	}
	if n > 0 {
		if err := check("", rows, n, want, nil); err != nil {
			return nil, fmt.Errorf("verify onnx: %w", err)
		}
	}
	if len(tv.Rows) > 0 {
		flat := make([]float32, 0, len(tv.Rows)*d)
		for i, row := range tv.Rows {
			if len(row) != d {
				return nil, fmt.Errorf("verify onnx: test vector row %d has %d values, want %d", i, len(row), d)
			}
			flat = append(flat, row...)
		}
		if err := check(" (test vector)", flat, len(tv.Rows), tv.Scores, tv.TailProbability); err != nil {
			return nil, fmt.Errorf("verify onnx: test vector: %w", err)
		}
	}
	return r, r.Err()
}

// ErrNoTestVector is wrapped by the error CheckTestVector returns when a
// model carries no usable test vector (metadata vaejob.test_vector), so that
// it cannot be checked.
var ErrNoTestVector = errors.New("no test vector")

// CheckTestVector scores the rows of tv, a model file's embedded test vector
// (Metadata.TestVector), with the batch Go scorer (pipeline.Model.ScoreRows,
// the one vaejob score and evaluate use) and compares them with the scores
// recorded in tv when the file was written, within Tolerance. It takes
// milliseconds, and a damaged file (weights or biases changed after it was
// written) fails it.
//
// A test vector with no rows, or rows that do not fit m, gives an error
// wrapping ErrNoTestVector; disagreements give the Report and an error
// wrapping ErrMismatch.
func CheckTestVector(m *pipeline.Model, tv pipeline.TestVector) (*Report, error) {
	d := m.Dim()
	switch {
	case len(tv.Rows) == 0:
		return nil, fmt.Errorf("%w: metadata %s has no rows", ErrNoTestVector, KeyTestVector)
	case len(tv.Rows) != len(tv.Scores):
		return nil, fmt.Errorf("%w: metadata %s has %d rows and %d scores", ErrNoTestVector, KeyTestVector, len(tv.Rows), len(tv.Scores))
	}
	flat := make([]float32, 0, len(tv.Rows)*d)
	for i, row := range tv.Rows {
		if len(row) != d {
			return nil, fmt.Errorf("%w: metadata %s row %d has %d values, the model has %d features", ErrNoTestVector, KeyTestVector, i, len(row), d)
		}
		flat = append(flat, row...)
	}
	r := &Report{TestVectorRows: len(tv.Rows), Threshold: m.Threshold}
	for i, got := range m.ScoreRows(flat) {
		r.score("go scorer vs recorded (test vector)", i, got, tv.Scores[i])
	}
	return r, r.Err()
}
