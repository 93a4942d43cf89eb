package jobs

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"time"

	"github.com/vaejob/vaejob/parquet"
)

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
