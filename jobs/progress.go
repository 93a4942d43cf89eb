package jobs

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/vaejob/vaejob/pipeline/vae"
)

// progress reports training epochs: a redrawn status line when w is a
// terminal, otherwise a log line every tenth of the run.
type progress struct {
	w         io.Writer
	log       *slog.Logger
	epochs    int
	rows      int
	start     time.Time
	last      time.Time
	drawn     bool
	logged    int  // the last tenth of the run logged
	loggedAny bool // whether any epoch was logged
}

// newProgress returns a reporter that draws on w when w is a terminal and
// logs through log otherwise.
func newProgress(w io.Writer, log *slog.Logger, epochs, rows int) *progress {
	if w != nil && !isTerminal(w) {
		w = nil
	}
	return newProgressTo(w, log, epochs, rows)
}

// newProgressTo draws on w if it is not nil, else logs.
func newProgressTo(w io.Writer, log *slog.Logger, epochs, rows int) *progress {
	now := time.Now()
	return &progress{w: w, log: log, epochs: epochs, rows: rows, start: now, last: now}
}

func (p *progress) epoch(st vae.EpochStats) {
	now := time.Now()
	elapsed := now.Sub(p.start)
	rowsPerSec := float64(st.Epoch*p.rows) / elapsed.Seconds()
	eta := time.Duration(float64(elapsed) / float64(st.Epoch) * float64(p.epochs-st.Epoch))
	if p.w != nil {
		if now.Sub(p.last) > 100*time.Millisecond || st.Epoch == p.epochs {
			fmt.Fprintf(p.w, "\repoch %d/%d  step %d  loss %.5f (rec %.5f, kl %.5f)  val %.5f  %.0f rows/s  ETA %s   ",
				st.Epoch, p.epochs, st.Steps, st.Loss, st.Reconstruction, st.KL, st.ValLoss, rowsPerSec, eta.Round(time.Second))
			p.drawn = true
			p.last = now
		}
		return
	}
	tenth := st.Epoch * 10 / p.epochs
	if !p.loggedAny || tenth > p.logged || st.Epoch == p.epochs {
		p.logged, p.loggedAny = tenth, true
		p.log.Info("epoch", "epoch", st.Epoch, "of", p.epochs, "loss", st.Loss, "reconstruction", st.Reconstruction,
			"kl", st.KL, "validation_loss", st.ValLoss, "steps", st.Steps, "rows_per_second", int(rowsPerSec), "eta", eta.Round(time.Second).String())
	}
}

func (p *progress) done() {
	if p.drawn {
		fmt.Fprintln(p.w)
	}
}

// isTerminal reports whether w is a character device such as a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
