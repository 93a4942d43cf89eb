package jobs

import "fmt"

// requiredFlag is a flag a command cannot run without: its name, the value
// it was given, and what it names, for the message ("" says nothing more).
type requiredFlag struct {
	name, value, names string
}

// checkRequired returns a usage error for the first of flags given no
// value: "--input is required: the Parquet file to score".
func checkRequired(flags ...requiredFlag) error {
	for _, f := range flags {
		switch {
		case f.value != "":
		case f.names == "":
			return fmt.Errorf("%w: %s is required", ErrUsage, f.name)
		default:
			return fmt.Errorf("%w: %s is required: %s", ErrUsage, f.name, f.names)
		}
	}
	return nil
}
