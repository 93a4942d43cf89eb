package parquet

import (
	"fmt"
	"strings"
)

// FieldError is an error about one setting of a [Selection] or
// [ReadOptions] (a Features or Exclude pattern, the Filter), so that a
// caller can name the setting as its users know it, a command-line flag
// say. Its message starts with the setting in lower case ("filter ...",
// "features pattern ..."). It is wrapped by an error that also wraps
// [ErrBadInput] or [ErrUsage].
type FieldError struct {
	// Field is the Go name of the setting: "Features", "Exclude",
	// "Keep" or "Filter".
	Field string
	// With, when set, is the other setting Field cannot be given with
	// ("features and exclude cannot be used together").
	With string
	// Err says what is wrong, without the setting's name.
	Err error
}

func (e *FieldError) Error() string {
	if e.With != "" {
		return strings.ToLower(e.Field) + " and " + strings.ToLower(e.With) + " " + e.Err.Error()
	}
	return strings.ToLower(e.Field) + " " + e.Err.Error()
}

func (e *FieldError) Unwrap() error { return e.Err }

// fieldError returns an error of kind (ErrBadInput or ErrUsage) about the
// setting field. The format may use %w.
func fieldError(kind error, field, format string, args ...any) error {
	return fmt.Errorf("%w: %w", kind, &FieldError{Field: field, Err: fmt.Errorf(format, args...)})
}
