package jobs

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/vaejob/vaejob/parquet"
	"github.com/vaejob/vaejob/pipeline"
)

// ScoreOptions name a model, the table to score and where to write scores.
type ScoreOptions struct {
	Model string
	// Input is a Parquet or Arrow IPC file, a folder or a glob; "-" reads
	// standard input (Stdin) as a stream (see InputFormat).
	Input string
	// Output is the score file: Parquet, or CSV when it ends in .csv
	// (see OutputFormat); "-" writes standard output (Stdout).
	Output string
	// InputFormat is the format of standard input (Input "-"): "auto" or
	// "" tells it by its first bytes (see parquet.SniffFormat), "arrow"
	// (an Arrow IPC stream) and "csv" (CSV with a header row) name it.
	InputFormat string
	// OutputFormat is "parquet", "arrow" (an Arrow IPC stream) or "csv";
	// "" takes it from Output's extension, and for standard output the
	// format of standard input when that is the input, else "arrow".
	OutputFormat string
	Keep         []string // input columns carried into the output before score and is_anomaly
	// Explain, when positive, adds per row the Explain features with the
	// largest shares of the score (see explainer); at most the model's
	// features.
	Explain int
	// Stdin and Stdout are read and written for "-" (nil: os.Stdin and
	// os.Stdout).
	Stdin  io.Reader
	Stdout io.Writer
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

// stdStream is the --input and --output that name standard input and
// output.
const stdStream = "-"

// AutoFormat is the --input-format (the default) that tells standard
// input's format by its first bytes.
const AutoFormat = "auto"

// Score scores every row of the input with the model's Go scorer (the same
// numbers as its ONNX graph) and writes one output row per input row, in
// input order. The input is streamed through a pipeline (see
// scoreStream): memory holds a few batches, not the table. The output
// file appears whole or not at all.
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
//
// --input - reads standard input as a stream (parquet.ReadStream): an
// Arrow IPC stream or CSV with a header row, never Parquet (a usage
// error: it needs seeking). --output - writes standard output, which is
// not atomic: the rows go out as they are scored, and a run that fails
// exits non-zero with the output cut short (an Arrow stream then lacks
// its end-of-stream marker, a Parquet file its footer). A reader that
// closes the pipe early (| head) stops the run by SIGPIPE, as it stops
// cat (exit status 141 in a shell); a signal stops a run waiting on a
// reader that does not read (see cancelWriter).
func Score(ctx context.Context, o ScoreOptions) (*ScoreResult, error) {
	if err := checkRequired(
		requiredFlag{"--model", o.Model, ""},
		requiredFlag{"--input", o.Input, "the table to score, or - for standard input"},
		requiredFlag{"--output", o.Output, scoreFileWanted + " to write, or - for standard output"},
	); err != nil {
		return nil, err
	}
	inFormat, sniff, err := scoreInputFormat(o)
	if err != nil {
		return nil, err
	}
	outFormat, outFormatSet, err := scoreOutputFormat(o)
	if err != nil {
		return nil, err
	}
	toStdout := o.Output == stdStream
	var existing fs.FileInfo
	if !toStdout {
		if existing, err = checkOutputPath("--output", scoreFileWanted, o.Output); err != nil {
			return nil, err
		}
	}
	loaded, err := loadModel(o.Model)
	if err != nil {
		return nil, err
	}
	m := loaded.model
	if err := checkExplain(o.Explain, m.Dim()); err != nil {
		return nil, err
	}
	sel := parquet.Selection{Features: m.Features, Keep: o.Keep, AllowMissing: true}
	in, err := openScoreInput(ctx, o, sel, inFormat, sniff)
	if err != nil {
		return nil, err
	}
	if in.stream && !outFormatSet && toStdout {
		outFormat = in.format // a stream in, the same stream out
	}
	if !toStdout {
		var sources []outputSource
		if !in.stream {
			sources = append(sources, outputSource{"input file", "--input", o.Input, in.files})
		}
		sources = append(sources, outputSource{"model file", "--model", o.Model, []string{o.Model}})
		if err := checkOutputNotInput("--output", o.Output, existing, sources...); err != nil {
			return nil, err
		}
	}
	s := &scoreStream{ctx: ctx, m: m, format: outFormat, keep: o.Keep,
		layout: parquet.ScoreLayout{Tail: true, Explain: o.Explain > 0}, explain: o.Explain, tail: tailReaderOf(m)}
	s.res.NoTail = m.Tail == nil
	write := func(w io.Writer) error {
		bw := bufio.NewWriterSize(w, 1<<20)
		if err := s.run(in.read, bw); err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err // cancelled after the last batch: still no output
		}
		return bw.Flush()
	}
	if toStdout {
		// A consumer that stops reading must not keep a signal waiting.
		err = write(newCancelWriter(ctx, cmp.Or[io.Writer](o.Stdout, os.Stdout)))
	} else {
		err = createAtomic(diskFS, o.Output, 0o644, write)
	}
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
		return nil, inputErr(fmt.Errorf("read %s: %w", in.name, re.err))
	case errors.Is(err, parquet.ErrBadInput), errors.Is(err, parquet.ErrUsage):
		// A kept column the output cannot carry (refused before the first
		// batch is scored) or a value of one (an inexact interval), or a
		// kept column named like an output column.
		return nil, inputErr(fmt.Errorf("--keep-columns: %w", err))
	}
	if toStdout {
		return nil, fmt.Errorf("write standard output: %w", err)
	}
	return nil, err // createAtomic names --output, the score writer its step
}

// scoreInput is where score reads its rows from.
type scoreInput struct {
	name   string // the input in messages: --input, or standard input
	stream bool   // standard input
	format parquet.Format
	files  []string // the files --input resolves to; none for a stream
	read   func(each func(*parquet.Batch) error) (*parquet.Table, error)
}

// openScoreInput resolves --input into files, or for - reads the first
// bytes of standard input to tell its format (when sniff).
func openScoreInput(ctx context.Context, o ScoreOptions, sel parquet.Selection, format parquet.Format, sniff bool) (*scoreInput, error) {
	if o.Input != stdStream {
		ins, err := parquet.ResolveInputs([]string{o.Input})
		if err != nil {
			return nil, inputErr(fmt.Errorf("read %s: %w", o.Input, err))
		}
		return &scoreInput{name: o.Input, files: inputFiles(ins), read: func(each func(*parquet.Batch) error) (*parquet.Table, error) {
			return parquet.StreamInputs(ctx, ins, sel, parquet.ReadOptions{}, each)
		}}, nil
	}
	stdin := bufio.NewReaderSize(newCancelReader(ctx, cmp.Or[io.Reader](o.Stdin, os.Stdin)), 64<<10)
	if sniff {
		var err error
		if format, err = parquet.SniffFormat(stdin); err != nil {
			return nil, inputErr(fmt.Errorf("--input -: standard input: %w", err))
		}
	}
	return &scoreInput{name: "standard input", stream: true, format: format, read: func(each func(*parquet.Batch) error) (*parquet.Table, error) {
		return parquet.ReadStream(ctx, stdin, format, sel, each)
	}}, nil
}

// scoreInputFormat reads --input-format: the format named, or sniff for
// auto. It applies to standard input only: a file's format is told by its
// content.
func scoreInputFormat(o ScoreOptions) (f parquet.Format, sniff bool, err error) {
	if o.InputFormat == "" || strings.EqualFold(o.InputFormat, AutoFormat) {
		return 0, true, nil
	}
	if o.Input != stdStream {
		return 0, false, fmt.Errorf("%w: --input-format %s: it names the format of standard input (--input -); a file's format is told by its content, drop the flag", ErrUsage, o.InputFormat)
	}
	if f, err = parquet.ParseFormat(o.InputFormat); err != nil {
		return 0, false, inputErr(fmt.Errorf("--input-format: %w, or %s to tell it by its first bytes", err, AutoFormat))
	}
	if f == parquet.Parquet {
		return 0, false, fmt.Errorf("%w: --input-format %s: Parquet cannot be read from standard input: its footer comes last and reading it needs seeking; give the file's path as --input, or send an Arrow IPC stream or CSV", ErrUsage, o.InputFormat)
	}
	return f, false, nil
}

// scoreOutputFormat reads --output-format (set says it was given), or
// takes the format from --output's extension.
func scoreOutputFormat(o ScoreOptions) (f parquet.Format, set bool, err error) {
	if o.OutputFormat == "" {
		if o.Output == stdStream {
			return parquet.Arrow, false, nil
		}
		return parquet.FormatForPath(o.Output), false, nil
	}
	if f, err = parquet.ParseFormat(o.OutputFormat); err != nil {
		return 0, false, inputErr(fmt.Errorf("--output-format: %w", err))
	}
	return f, true, nil
}

// scoreStream is the scoring pipeline: the reader hands the batches in
// input order, on its own goroutine; a fixed set of workers (one per
// runtime.GOMAXPROCS(0)) converts and scores them, each batch on one
// worker; one writer writes them in input order. At most
// batchesPerWorker batches per worker are in flight between the reader and
// the writer (each with its buffers, reused by a later batch once written),
// so memory holds a few batches, not the table. The rows' bytes do not
// depend on the number of workers: a batch is scored the same way on any
// of them, and the writer takes them in order.
type scoreStream struct {
	ctx     context.Context
	m       *pipeline.Model
	format  parquet.Format
	layout  parquet.ScoreLayout
	keep    []string             // the kept columns' names
	explain int                  // features to explain per row; 0 for none
	tail    *pipeline.TailReader // nil for a model without a tail table

	failed   atomic.Bool // the writer has failed: the others stop
	sw       *parquet.ScoreWriter
	startErr error // from starting the output; read after the pipeline ends
	writeErr error // the first batch's error, in input order; likewise
	res      ScoreResult
}

// batchesPerWorker bounds the batches in flight: per worker, one being
// scored and one scored or read waiting for its turn.
const batchesPerWorker = 2

// scoreJob is one batch on its way through the pipeline, with the buffers
// its rows are scored into.
type scoreJob struct {
	// b is the batch until its worker has converted its features; then
	// only its row count and kept columns stay, so that the features'
	// Arrow arrays can be freed while the batch waits for the writer.
	b                  *parquet.Batch
	n                  int
	kept               []arrow.Array
	x, score, tail     []float32
	rows               parquet.ScoreRows
	encoded            parquet.Encoded // the rows, made ready to write by the worker
	anomalies, missing int
	err                error
	done               chan struct{} // receives when the worker is done with it
}

// run streams the batches that read hands out through the model into w. A
// problem with the input comes back as a readError; a cancellation as
// ctx's error. Of the errors of several batches, the first batch's in
// input order is returned, and a failed batch before the one the reader
// failed on comes first too.
func (s *scoreStream) run(read func(each func(*parquet.Batch) error) (*parquet.Table, error), w io.Writer) error {
	workers := max(1, runtime.GOMAXPROCS(0))
	inFlight := batchesPerWorker * workers
	free := make(chan *scoreJob, inFlight)
	for range inFlight {
		free <- &scoreJob{done: make(chan struct{}, 1)}
	}
	todo := make(chan *scoreJob, inFlight)  // to the workers
	order := make(chan *scoreJob, inFlight) // to the writer, in input order
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.work(todo)
		}()
	}
	written := make(chan struct{})
	go func() {
		defer close(written)
		s.write(w, order, free)
	}()
	t, err := read(func(b *parquet.Batch) error {
		if err := s.ctx.Err(); err != nil {
			return err
		}
		if s.failed.Load() {
			return errScoreFailed
		}
		if s.sw == nil {
			// The first batch starts the output before any row is scored,
			// so that a kept column the output cannot carry is refused
			// first.
			if s.startErr = s.start(w, b.KeptFields); s.startErr != nil {
				return errScoreFailed
			}
		}
		var j *scoreJob
		select {
		case j = <-free:
		case <-s.ctx.Done():
			return s.ctx.Err()
		}
		j.b = b
		order <- j // neither blocks: at most inFlight jobs exist
		todo <- j
		return nil
	})
	close(todo)
	close(order)
	wg.Wait()
	<-written
	switch {
	case s.startErr != nil:
		return s.startErr
	case s.writeErr != nil:
		return s.writeErr
	case err != nil && s.ctx.Err() != nil:
		return err
	case err != nil:
		return readError{err}
	}
	if s.sw == nil {
		// No batch came through (an input with no rows): the file still
		// gets the kept columns with their types, score and is_anomaly,
		// and no rows. The reader describes the kept columns in t.Kept.
		if t == nil || t.Kept == nil || int(t.Kept.NumCols()) != len(s.keep) {
			return fmt.Errorf("the input had no rows and the reader gave no schema for the %d kept columns", len(s.keep))
		}
		if err := s.start(w, t.Kept.Schema().Fields()); err != nil {
			return err
		}
	}
	return s.sw.Close()
}

// errScoreFailed stops the reader when the writer has failed, and marks
// the batches left unscored after it.
var errScoreFailed = errors.New("scoring or writing failed")

// work is a worker: it converts and scores the batches of todo, and once
// the writer has failed only hands them back.
func (s *scoreStream) work(todo <-chan *scoreJob) {
	var ex *explainer // its scratch buffers are the worker's own
	if s.explain > 0 {
		ex = newExplainer(s.m, s.explain)
	}
	for j := range todo {
		if s.failed.Load() {
			j.err = errScoreFailed
		} else {
			j.err = s.scoreSafely(j, ex)
		}
		j.done <- struct{}{}
	}
}

// write is the writer: it takes the batches in input order, waits for
// each to be scored, writes it, and hands its buffers back. After the
// first error it only hands them back.
func (s *scoreStream) write(w io.Writer, order <-chan *scoreJob, free chan<- *scoreJob) {
	for j := range order {
		<-j.done
		if s.writeErr == nil {
			s.writeErr = j.err
			if s.writeErr == nil {
				s.writeErr = s.writeSafely(j)
			}
			if s.writeErr != nil {
				s.failed.Store(true)
			} else {
				s.res.Rows += j.n
				s.res.Anomalies += j.anomalies
				s.res.Missing += j.missing
			}
		}
		j.b, j.kept = nil, nil
		j.encoded.Release()
		free <- j
	}
}

// scoreSafely is scoreBatch with a panic of Arrow's converters on a corrupt
// batch turned into an input error, as the reader does for its own: this
// goroutine is beyond the reader's recover.
func (s *scoreStream) scoreSafely(j *scoreJob, ex *explainer) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = readError{fmt.Errorf("%w: the file is corrupt (converting a batch failed: %v); re-create or re-download it", parquet.ErrBadInput, r)}
		}
	}()
	return s.scoreBatch(j, ex)
}

// writeSafely writes a scored batch, with a panic of Arrow turned into an
// input error.
func (s *scoreStream) writeSafely(j *scoreJob) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = readError{fmt.Errorf("%w: the file is corrupt (writing a kept column failed: %v); re-create or re-download it", parquet.ErrBadInput, r)}
		}
	}()
	return s.sw.WriteEncoded(&j.encoded)
}

// scoreBatch converts and scores one batch into its job's buffers, and
// encodes its rows for the writer.
func (s *scoreStream) scoreBatch(j *scoreJob, ex *explainer) error {
	var err error
	j.n, j.kept = j.b.Rows, j.b.Kept
	j.x, err = j.b.Features(j.x)
	j.b = nil
	if err != nil {
		return readError{err}
	}
	n := j.n
	rows := &j.rows
	rows.IsAnomaly = slices.Grow(rows.IsAnomaly[:0], n)[:n]
	if ex != nil {
		s.explainBatch(ex, j.x, rows)
	} else {
		j.score = slices.Grow(j.score[:0], n)[:n]
		rows.Score = j.score
		s.m.ScoreRowsTo(rows.Score, j.x)
	}
	rows.Tail = nil // nulls: the model has no tail table
	if s.tail != nil {
		j.tail = slices.Grow(j.tail[:0], n)[:n]
		rows.Tail = j.tail
	}
	j.anomalies, j.missing = 0, 0
	for i, v := range rows.Score {
		rows.IsAnomaly[i] = pipeline.IsAnomaly(v, s.m.Threshold)
		if rows.IsAnomaly[i] {
			j.anomalies++
		}
		if v != v {
			j.missing++
		}
		if rows.Tail != nil {
			rows.Tail[i] = s.tail.Probability(v)
		}
	}
	// The workers also format the CSV text or build the Arrow arrays (the
	// explanations' lists cost a third of an explained run): the writer
	// only writes them out.
	return s.sw.Encode(&j.encoded, j.kept, j.rows)
}

// explainBatch scores the rows of x with their shares and explains each.
func (s *scoreStream) explainBatch(ex *explainer, x []float32, rows *parquet.ScoreRows) {
	d := s.m.Dim()
	dv := s.m.NetworkDim()
	parts := s.m.ExplainParts(x)
	rows.Score = parts.Scores
	rows.Explain = rows.Explain[:0]
	for i, score := range parts.Scores {
		rows.Explain = append(rows.Explain, ex.explain(x[i*d:(i+1)*d], parts.Features[i*d:(i+1)*d], parts.Recon[i*dv:(i+1)*dv], score))
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

// tailReaderOf returns the reader of m's tail table, or nil for a model
// that predates tail tables (the column is then null).
func tailReaderOf(m *pipeline.Model) *pipeline.TailReader {
	if m.Tail == nil {
		return nil
	}
	return m.Tail.Reader()
}
