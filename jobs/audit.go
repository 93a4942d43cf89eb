package jobs

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"strings"
	"time"
)

// AuditEvent is one line of the audit log.
type AuditEvent struct {
	Time     time.Time `json:"time"`
	Action   string    `json:"action"` // one of the Action constants
	RunID    string    `json:"run_id"`
	Previous string    `json:"previous_latest,omitempty"`
	By       string    `json:"by"`
	Host     string    `json:"host"`
	Reason   string    `json:"reason,omitempty"`
}

// Audit actions.
const (
	// ActionPromoted: a run passed the gate and latest now points at it.
	ActionPromoted = "promoted"
	// ActionRejected: the gate rejected a run; latest is unchanged.
	ActionRejected = "rejected"
	// ActionPromotedByHand: vaejob promote pointed latest at a run.
	ActionPromotedByHand = "promoted-by-hand"
	// ActionOrphaned: a run was stopped after its folder was published
	// but before latest moved; a later run marked it (it never served).
	ActionOrphaned = "orphaned"
)

// isPromotion reports whether the action moved latest.
func isPromotion(action string) bool {
	return action == ActionPromoted || action == ActionPromotedByHand
}

// appendAudit appends ev to the audit log and syncs it. The caller holds
// the lock.
func (d *outDir) appendAudit(ev AuditEvent) error {
	host, _ := os.Hostname()
	ev.Host = host
	if ev.By == "" {
		ev.By = currentUser()
	}
	b, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	// One write of one line with O_APPEND: a crash leaves at worst a torn
	// last line, which readAudit skips; the next event starts on a line of
	// its own.
	path := d.auditPath()
	line := append(b, '\n')
	if fi, err := os.Lstat(path); err == nil && fi.Mode().IsRegular() && fi.Size() > 0 {
		f, err := os.Open(path)
		if err != nil {
			return fmt.Errorf("open audit log: %w", err)
		}
		last := make([]byte, 1)
		_, err = f.ReadAt(last, fi.Size()-1)
		f.Close()
		if err == nil && last[0] != '\n' {
			line = append([]byte{'\n'}, line...)
		}
	}
	f, err := d.fs.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE)
	if err != nil {
		return fmt.Errorf("open audit log: %w", ownedErr(path, err))
	}
	return writeSyncClose(f, line)
}

// readAudit returns the events of the audit log, oldest first. A line that
// is not a whole event (a write cut short by a crash) is skipped and
// counted in torn.
func (d *outDir) readAudit() (evs []AuditEvent, torn int, err error) {
	b, err := os.ReadFile(d.auditPath())
	if errors.Is(err, fs.ErrNotExist) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		var ev AuditEvent
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			torn++
			continue
		}
		evs = append(evs, ev)
	}
	return evs, torn, nil
}

// currentUser names who runs the process: $VAEJOB_USER, then the OS user.
func currentUser() string {
	if u := os.Getenv("VAEJOB_USER"); u != "" {
		return u
	}
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return fmt.Sprintf("uid %d", os.Getuid())
}
