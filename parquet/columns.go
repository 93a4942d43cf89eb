package parquet

import (
	"strings"
)

// ParseColumnList parses a comma-separated list of column names, such as the
// value of a command-line flag: "a,b, c" yields [a b c]. Spaces around each
// name are trimmed. An empty or all-blank string yields nil. An empty name
// (as in "a,,b" or "a,") or a name given twice is an error wrapping
// [ErrUsage]. Column names that themselves contain commas cannot be
// expressed in this syntax.
func ParseColumnList(s string) ([]string, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	parts := strings.Split(s, ",")
	names := make([]string, 0, len(parts))
	seen := make(map[string]bool, len(parts))
	for i, p := range parts {
		name := strings.TrimSpace(p)
		if name == "" {
			return nil, usageError("column list %q: name %d of %d is empty; separate names with single commas and no trailing comma", s, i+1, len(parts))
		}
		if seen[name] {
			return nil, usageError("column list %q: column %q is listed twice; list each column once", s, name)
		}
		seen[name] = true
		names = append(names, name)
	}
	return names, nil
}

// checkNames reports empty or repeated names in one field of a Selection.
func checkNames(field string, names []string) error {
	seen := make(map[string]bool, len(names))
	for _, n := range names {
		if strings.TrimSpace(n) == "" {
			return usageError("%s: empty column name; remove it", field)
		}
		if seen[n] {
			return usageError("%s: column %q is listed twice; list each column once", field, n)
		}
		seen[n] = true
	}
	return nil
}
