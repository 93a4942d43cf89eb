package jobs

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"regexp"
	"time"
)

// NewRunID returns an id that sorts by creation time (UTC, to the
// millisecond) and is unique thanks to a random suffix, e.g.
// 20261125T120305.123Z-3f9a1c.
func NewRunID(now time.Time) string {
	var b [3]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return now.UTC().Format("20060102T150405.000Z") + "-" + hex.EncodeToString(b[:])
}

var runIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:+-]{0,127}$`)

// CheckRunID rejects ids that are not safe as a single directory name.
func CheckRunID(id string) error {
	if !runIDPattern.MatchString(id) || id == latestName {
		return fmt.Errorf("%w: run id %q: use 1 to 128 letters, digits and . _ : + - (not starting with a punctuation mark)", ErrUsage, id)
	}
	return nil
}
