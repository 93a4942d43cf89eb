package parquet

import (
	"errors"
	"fmt"
	"strings"
)

// ErrBadInput is wrapped by every error caused by the input data: a missing,
// unreadable or corrupt file, an unknown or non-numeric column, an empty
// table, or missing and non-finite values in a feature column.
var ErrBadInput = errors.New("bad input data")

// ErrUsage is wrapped by every error caused by how the package was called
// rather than by the data: contradictory or duplicate names in a [Selection],
// a malformed column list, or score output whose columns would clash.
var ErrUsage = errors.New("usage error")

// ErrUnsupported is wrapped, beside ErrBadInput, by errors about valid
// input that vaejob has no decoder for: a Parquet encoding or compression
// codec it does not implement. Unlike a corrupt file, which may be fixed by
// re-creating or re-downloading it, the same file fails every time; it has
// to be written with other options.
var ErrUnsupported = errors.New("unsupported")

// unsupported returns an error wrapping ErrBadInput and ErrUnsupported
// with a formatted message.
func unsupported(format string, args ...any) error {
	return fmt.Errorf("%w: %w: "+format, append([]any{ErrBadInput, ErrUnsupported}, args...)...)
}

// badInput returns an error wrapping ErrBadInput with a formatted message.
// The format may use %w for further wrapped errors.
func badInput(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrBadInput}, args...)...)
}

// usageError returns an error wrapping ErrUsage with a formatted message.
func usageError(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrUsage}, args...)...)
}

// maxListed is how many column names an error message lists before
// abbreviating the rest.
const maxListed = 40

// quoteList renders names as `"a", "b", "c"`, abbreviating long lists.
func quoteList(names []string) string {
	var b strings.Builder
	for i, n := range names {
		if i == maxListed {
			fmt.Fprintf(&b, ", ... and %d more", len(names)-maxListed)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%q", n)
	}
	return b.String()
}

// plural returns "1 null" or "3 nulls".
func plural(n int, word string) string {
	if n == 1 {
		return fmt.Sprintf("1 %s", word)
	}
	return fmt.Sprintf("%d %ss", n, word)
}
