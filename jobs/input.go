package jobs

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/vaejob/vaejob/parquet"
	"github.com/vaejob/vaejob/pipeline"
)

// trainingInput is the checked input of a train run.
type trainingInput struct {
	table      *parquet.Table
	labels     []bool    // nil without --label-column
	times      []float64 // nil without --time-column
	digestKind string
	files      []InputFile // every file read, with its size and SHA-256
	digest     string      // the file's SHA-256, or for several files the SHA-256 of their digests
}

// readTrainingInput resolves and reads the input files, their labels and
// digests, and makes sure no file changed (or appeared) while they were
// read.
func readTrainingInput(ctx context.Context, o TrainOptions, cfg ResolvedConfig, log *slog.Logger) (*trainingInput, error) {
	files, err := parquet.ResolveInputs(o.Inputs)
	if err != nil {
		return nil, inputErr(fmt.Errorf("read %s: %w", strings.Join(o.Inputs, ", "), err))
	}
	before, err := statAll(files)
	if err != nil {
		return nil, err
	}
	in := &trainingInput{digestKind: cfg.Digest}
	sel := parquet.Selection{Features: o.Features, Exclude: o.Exclude, AllowMissing: cmp.Or(o.Missing, MissingFail) != MissingFail,
		MaxMagnitude: pipeline.MaxFeatureMagnitude}
	// The label and the time column are kept but are never features, not
	// even through a --features or --exclude pattern.
	for _, c := range []string{o.Labels.Column, cfg.TimeColumn} {
		if c != "" {
			sel.Keep = append(sel.Keep, c)
			sel.Reserved = append(sel.Reserved, c)
		}
	}
	named := strings.Join(o.Inputs, ", ")
	// The digests read every byte again: do it beside the decoding, which
	// is CPU-bound, rather than after it; a failed read stops them too.
	digestCtx, stopDigests := context.WithCancel(ctx)
	defer stopDigests()
	digested := make(chan inputDigests, 1)
	go func() { digested <- digestInputs(digestCtx, files, cfg.Digest) }()
	opts := parquet.ReadOptions{Filter: cfg.filter, MaxRows: cfg.MaxRows, Progress: readProgress(log)}
	if cfg.MaxRows > 0 {
		opts.Rand = streamRand(cfg.Seed, "sample")
	}
	parquet.PrepareHeap()
	log.Info("reading input", "files", len(files))
	table, err := parquet.ReadInputs(ctx, files, sel, opts)
	if err != nil {
		return nil, stopped(ctx, inputErr(fmt.Errorf("read %s: %w", named, err)))
	}
	if cfg.TimeColumn != "" {
		if in.times, err = table.KeptOrder(cfg.TimeColumn); err != nil {
			return nil, inputErr(fmt.Errorf("%s: --time-column: %w", named, err))
		}
	}
	for _, s := range table.Skipped {
		log.Info("skipping non-numeric column", "column", s.Name, "type", s.Type)
	}
	for _, n := range table.Notes {
		log.Warn("schema differs between input files", "note", n)
	}
	in.table = table
	if o.Labels.Column != "" {
		if in.labels, err = o.Labels.read(table); err != nil {
			return nil, fmt.Errorf("%s: %w", named, err)
		}
	}
	digests := <-digested
	if digests.err != nil {
		return nil, stopped(ctx, inputErr(digests.err))
	}
	in.files, in.digest = digests.files, digests.combined
	again, err := parquet.ResolveInputs(o.Inputs)
	if err != nil {
		return nil, inputErr(fmt.Errorf("%s changed while it was read: %w", named, err))
	}
	after, err := statAll(again)
	if err != nil {
		return nil, err
	}
	if changed := changedFiles(before, after, in.files); changed != "" {
		return nil, fmt.Errorf("%w: %s changed while it was read; run again when the export is complete", ErrBadInput, changed)
	}
	log.Info("read input", "files", len(files), "rows_read", table.RowsRead, "rows_matched", table.RowsMatched, "rows_kept", table.Rows,
		"features", len(table.Names), "digest", in.digest, "digest_kind", cfg.Digest)
	return in, nil
}

// readProgress logs a long read's progress: files, rows, bytes and rate.
func readProgress(log *slog.Logger) func(parquet.ReadProgress) {
	last := time.Time{}
	return func(p parquet.ReadProgress) {
		if p.Elapsed < 2*time.Second || time.Since(last) < 5*time.Second && p.FilesDone < p.Files {
			return
		}
		last = time.Now()
		secs := p.Elapsed.Seconds()
		log.Info("reading", "files_done", p.FilesDone, "files", p.Files, "rows_read", p.RowsRead, "rows_kept", p.RowsKept,
			"mb_done", p.BytesDone>>20, "mb_total", p.BytesTotal>>20,
			"rows_per_second", int64(float64(p.RowsRead)/secs), "mb_per_second", int64(float64(p.BytesDone)/secs)>>20)
	}
}

// fileState is what tells a file that changed from one that did not.
type fileState struct {
	size  int64
	mtime time.Time
}

// statAll notes the size and modification time of every input file, to
// tell after reading whether one changed.
func statAll(files []parquet.Input) (map[string]fileState, error) {
	out := make(map[string]fileState, len(files))
	for _, f := range files {
		st, err := os.Stat(f.Path)
		if err != nil {
			return nil, inputErr(parquetMissing(f.Path, err))
		}
		out[f.Path] = fileState{st.Size(), st.ModTime()}
	}
	return out, nil
}

// changedFiles names a file that appeared, went away or changed between
// the two states, or whose digested size differs; "" when none did.
func changedFiles(before, after map[string]fileState, digested []InputFile) string {
	for p, b := range before {
		if a, ok := after[p]; !ok || a.size != b.size || !a.mtime.Equal(b.mtime) {
			return p
		}
	}
	for p := range after {
		if _, ok := before[p]; !ok {
			return p + " (a new file)"
		}
	}
	for _, f := range digested {
		if f.Size != before[f.Path].size {
			return f.Path
		}
	}
	return ""
}

// parquetMissing words a failed stat of the input like the reader does.
func parquetMissing(path string, err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w: read %s: the file does not exist; check --input", parquet.ErrBadInput, path)
	}
	return fmt.Errorf("%w: read %s: %w", parquet.ErrBadInput, path, err)
}
