package jobs

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/vaejob/vaejob/parquet"
	"github.com/vaejob/vaejob/pipeline"
)

// ScoreOptions name a model, the table to score and where to write scores.
type ScoreOptions struct {
	Model  string
	Input  string
	Output string   // Parquet, or CSV when it ends in .csv
	Keep   []string // input columns carried into the output before score and is_anomaly
	// Explain, when positive, adds per row the Explain features with the
	// largest shares of the score (see explainer); at most the model's
	// features.
	Explain int
}

// ScoreResult summarises a score run.
type ScoreResult struct {
	Rows, Anomalies int
	// Missing counts rows with a missing or non-finite feature (NaN score,
	// flagged).
	Missing int
	// NoTail says the model predates tail tables (a file of format version
	// 2 or 3): the tail_probability column is null.
	NoTail bool
}

// scoreFileWanted is what vaejob score's --output names.
const scoreFileWanted = "a .parquet or .csv file"

// Score scores every row of the input with the model's Go scorer (the same
// numbers as its ONNX graph) and writes one output row per input row, in
// input order. The input is streamed: one goroutine decodes a row group
// while another scores and writes the one before, so memory holds a few
// row groups, not the table. The output file appears whole or not at all.
//
// After score and is_anomaly every row gets its tail_probability, read
// from the model's tail table as the ONNX graph reads it (null, and
// ScoreResult.NoTail, for a model that predates tail tables: never a
// made-up value), and with Explain > 0 its explanation (see explainer).
//
// A row with a missing (null) or non-finite feature scores NaN and is
// flagged, as in the ONNX graph. Cancelling ctx stops the run and leaves
// no output. An input with no rows writes an output with the kept
// columns, score and is_anomaly, and no rows. A kept column the output
// format cannot carry faithfully (see parquet.CheckKeptFields) is bad
// input, refused before any row is scored. The --model file is loaded and
// checked by loadModel (a damaged model is refused before anything is
// written).
//
// --output must name a regular file or nothing yet (see checkOutputPath:
// a symbolic link, folder, device, FIFO or socket there is a usage error,
// before the model is read) and must not be one of the files --input
// resolves to, nor the --model (see checkOutputNotInput). It is written
// beside its final name and renamed in place.
func Score(ctx context.Context, o ScoreOptions) (*ScoreResult, error) {
	if err := checkRequired(
		requiredFlag{"--model", o.Model, ""},
		requiredFlag{"--input", o.Input, "the Parquet file to score"},
		requiredFlag{"--output", o.Output, scoreFileWanted + " to write"},
	); err != nil {
		return nil, err
	}
	existing, err := checkOutputPath("--output", scoreFileWanted, o.Output)
	if err != nil {
		return nil, err
	}
	loaded, err := loadModel(o.Model)
	if err != nil {
		return nil, err
	}
	m := loaded.model
	if err := checkExplain(o.Explain, m.Dim()); err != nil {
		return nil, err
	}
	ins, err := parquet.ResolveInputs([]string{o.Input})
	if err != nil {
		return nil, inputErr(fmt.Errorf("read %s: %w", o.Input, err))
	}
	if err := checkOutputNotInput("--output", o.Output, existing,
		outputSource{"input file", "--input", o.Input, inputFiles(ins)},
		outputSource{"model file", "--model", o.Model, []string{o.Model}}); err != nil {
		return nil, err
	}
	sel := parquet.Selection{Features: m.Features, Keep: o.Keep, AllowMissing: true}
	s := &scoreStream{ctx: ctx, m: m, format: parquet.FormatForPath(o.Output),
		layout: parquet.ScoreLayout{Tail: true, Explain: o.Explain > 0}}
	s.res.NoTail = m.Tail == nil
	if o.Explain > 0 {
		s.explain = newExplainer(m, o.Explain)
	}
	err = createAtomic(diskFS, o.Output, 0o644, func(w io.Writer) error {
		bw := bufio.NewWriterSize(w, 1<<20)
		if err := s.run(ins, sel, bw); err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err // cancelled after the last batch: still no output
		}
		return bw.Flush()
	})
	var re readError
	var notRegular *notRegularTargetError
	switch {
	case err == nil:
		return &s.res, nil
	case ctx.Err() != nil:
		return nil, ctx.Err()
	case errors.As(err, &notRegular):
		// Swapped for a link, device or the like while scoring.
		return nil, checkOutputMode("--output", scoreFileWanted, o.Output, notRegular.Mode)
	case errors.As(err, &re):
		return nil, inputErr(fmt.Errorf("read %s: %w", o.Input, re.err))
	case errors.Is(err, parquet.ErrBadInput), errors.Is(err, parquet.ErrUsage):
		// A kept column the output cannot carry (refused before the first
		// batch is scored) or a value of one (an inexact interval), or a
		// kept column named like an output column.
		return nil, inputErr(fmt.Errorf("--keep-columns: %w", err))
	}
	return nil, fmt.Errorf("write scores: %w", err)
}

// scoreStream converts, scores and writes batches on a goroutine of its
// own while the reader decodes the next ones.
type scoreStream struct {
	ctx     context.Context
	m       *pipeline.Model
	format  parquet.Format
	layout  parquet.ScoreLayout
	explain *explainer // nil without --explain

	todo     chan *parquet.Batch
	failed   atomic.Bool
	sw       *parquet.ScoreWriter
	scoreErr error // from the scoring goroutine; read after it ends
	res      ScoreResult
}

// run streams the inputs through the model into w. A problem with the
// input comes back as a readError; a cancellation as ctx's error.
func (s *scoreStream) run(ins []parquet.Input, sel parquet.Selection, w io.Writer) error {
	// Unbuffered: one batch is scored while the next is decoded, and no
	// third waits in memory.
	s.todo = make(chan *parquet.Batch)
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.score(w)
	}()
	t, err := parquet.StreamInputs(s.ctx, ins, sel, parquet.ReadOptions{}, func(b *parquet.Batch) error {
		if err := s.ctx.Err(); err != nil {
			return err
		}
		if s.failed.Load() {
			return errScoreFailed
		}
		s.todo <- b
		return nil
	})
	close(s.todo)
	<-done
	switch {
	case errors.Is(err, errScoreFailed):
		return s.scoreErr
	case err != nil && s.ctx.Err() != nil:
		return err
	case err != nil:
		return readError{err}
	case s.scoreErr != nil:
		return s.scoreErr
	}
	if s.sw == nil {
		// No batch came through (an input with no rows): the file still
		// gets the kept columns with their types, score and is_anomaly,
		// and no rows. The reader describes the kept columns in t.Kept.
		if t == nil || t.Kept == nil || int(t.Kept.NumCols()) != len(sel.Keep) {
			return fmt.Errorf("the input had no rows and the reader gave no schema for the %d kept columns", len(sel.Keep))
		}
		if err := s.start(w, t.Kept.Schema().Fields()); err != nil {
			return err
		}
	}
	return s.sw.Close()
}

// errScoreFailed stops the reader when the scoring goroutine has failed.
var errScoreFailed = errors.New("scoring or writing failed")

// score is the scoring goroutine: it converts, scores and writes every
// batch, and after a failure only drains them.
func (s *scoreStream) score(w io.Writer) {
	var buf scoreBuffers
	for b := range s.todo {
		if s.scoreErr == nil {
			s.scoreErr = s.scoreSafely(w, b, &buf)
			if s.scoreErr != nil {
				s.failed.Store(true)
			}
		}
	}
}

// scoreSafely is scoreBatch with a panic of Arrow's converters on a corrupt
// batch turned into an input error, as the reader does for its own: this
// goroutine is beyond the reader's recover.
func (s *scoreStream) scoreSafely(w io.Writer, b *parquet.Batch, buf *scoreBuffers) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = readError{fmt.Errorf("%w: the file is corrupt (converting a batch failed: %v); re-create or re-download it", parquet.ErrBadInput, r)}
		}
	}()
	return s.scoreBatch(w, b, buf)
}

// scoreBuffers are the buffers a scoring goroutine reuses from batch to
// batch.
type scoreBuffers struct {
	x, tail []float32
	rows    parquet.ScoreRows
}

// scoreBatch scores one batch and writes its rows, in buffers it reuses.
// The first batch starts the output file, before it is scored, so that a
// kept column the output cannot carry is refused before any scoring.
func (s *scoreStream) scoreBatch(w io.Writer, b *parquet.Batch, buf *scoreBuffers) error {
	if s.sw == nil {
		if err := s.start(w, b.KeptFields); err != nil {
			return err
		}
	}
	var err error
	if buf.x, err = b.Features(buf.x); err != nil {
		return readError{err}
	}
	n := b.Rows
	rows := &buf.rows
	rows.IsAnomaly = slices.Grow(rows.IsAnomaly[:0], n)[:n]
	if s.explain != nil {
		s.explainBatch(buf.x, rows)
	} else {
		rows.Score = slices.Grow(rows.Score[:0], n)[:n]
		s.m.ScoreRowsTo(rows.Score, buf.x)
	}
	rows.Tail = nil // nulls: the model has no tail table
	if s.m.Tail != nil {
		buf.tail = slices.Grow(buf.tail[:0], n)[:n]
		rows.Tail = buf.tail
	}
	for i, v := range rows.Score {
		rows.IsAnomaly[i] = pipeline.IsAnomaly(v, s.m.Threshold)
		if rows.IsAnomaly[i] {
			s.res.Anomalies++
		}
		if v != v {
			s.res.Missing++
		}
		if rows.Tail != nil {
			rows.Tail[i] = s.m.Tail.Probability(v)
		}
	}
	s.res.Rows += n
	return s.sw.WriteRows(b.Kept, *rows)
}

// explainBatch scores the rows of x with their shares and explains each.
func (s *scoreStream) explainBatch(x []float32, rows *parquet.ScoreRows) {
	d := s.m.Dim()
	dv := s.m.NetworkDim()
	parts := s.m.ExplainParts(x)
	rows.Score = parts.Scores
	rows.Explain = rows.Explain[:0]
	for i, score := range parts.Scores {
		rows.Explain = append(rows.Explain, s.explain.explain(x[i*d:(i+1)*d], parts.Features[i*d:(i+1)*d], parts.Recon[i*dv:(i+1)*dv], score))
	}
}

// readError marks an error of the input found while scoring (a value that
// cannot be converted).
type readError struct{ err error }

func (e readError) Error() string { return e.err.Error() }
func (e readError) Unwrap() error { return e.err }

// start begins the output file.
func (s *scoreStream) start(w io.Writer, fields []arrow.Field) error {
	sw, err := parquet.NewScoreWriterLayout(w, s.format, fields, s.layout)
	if err != nil {
		return err
	}
	s.sw = sw
	return nil
}
