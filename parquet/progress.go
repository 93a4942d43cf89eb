package parquet

import "time"

// report calls the progress function at most every half second, and at
// the end of each file.
func (d *datasetReader) report(in Input, fileDone bool) {
	if d.opts.Progress == nil {
		return
	}
	now := time.Now()
	if !fileDone && now.Sub(d.lastReport) < 500*time.Millisecond {
		return
	}
	d.lastReport = now
	d.opts.Progress(ReadProgress{
		Files: len(d.inputs), FilesDone: d.filesDone(fileDone), File: in.Path,
		RowsRead: int64(d.t.RowsRead), RowsKept: int64(d.t.Rows), BytesDone: d.done + d.fileBytes(in, fileDone), BytesTotal: d.totalBytes,
		Elapsed: now.Sub(d.start),
	})
}

// fileBytes estimates the bytes read of the current file from the share of
// its rows read, when its footer gives the row count.
func (d *datasetReader) fileBytes(in Input, fileDone bool) int64 {
	if fileDone || d.file == nil || d.file.rowsHint <= 0 {
		return 0
	}
	return int64(float64(in.Size) * min(1, float64(d.t.RowsRead-d.fileStartRows)/float64(d.file.rowsHint)))
}

func (d *datasetReader) filesDone(fileDone bool) int {
	if fileDone {
		d.finished++
	}
	return d.finished
}
