package jobs

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/vaejob/vaejob/parquet/regfile"
)

// maxConfigBytes bounds a job config file; real ones are a few hundred bytes.
const maxConfigBytes = 1 << 20

// ReadConfigFile reads a job config file (YAML) and returns its settings as
// flag values by flag name; see ParseConfig. A file that is missing, over
// maxConfigBytes or not a regular file (a FIFO would block the read
// forever) is an error wrapping ErrUsage.
func ReadConfigFile(path string, known []string) (map[string]string, error) {
	b, err := regfile.ReadFile(path, maxConfigBytes)
	if err != nil {
		return nil, fmt.Errorf("%w: --config: %w", ErrUsage, userFileError(err, "a YAML config file"))
	}
	m, err := ParseConfig(b, known)
	if err != nil {
		return nil, fmt.Errorf("--config %s: %w", path, err)
	}
	return m, nil
}

// ParseConfig parses a job config: a YAML mapping whose keys are the long
// flag names of the command (input, out, epochs, threshold, ...) and whose
// values are scalars, or lists of scalars for the comma-separated flags
// (features: [a, b]). A key that is not in known, a key given twice, or a
// nested mapping is an error wrapping ErrUsage, so a typo never goes
// unnoticed. An empty document is an empty config. Values are returned as
// the text a user would pass on the command line.
func ParseConfig(data []byte, known []string) (map[string]string, error) {
	usage := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrUsage, fmt.Sprintf(format, args...))
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return map[string]string{}, nil
		}
		return nil, usage("not valid YAML: %v", err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, usage("holds more than one YAML document; keep one mapping of settings")
	}
	root := &doc
	if root.Kind == yaml.DocumentNode {
		if len(root.Content) == 0 {
			return map[string]string{}, nil
		}
		root = root.Content[0]
	}
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		return map[string]string{}, nil
	}
	if root.Kind != yaml.MappingNode {
		return nil, usage("want a mapping of settings (key: value), found a %s at line %d", kindName(root), root.Line)
	}
	out := map[string]string{}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			return nil, usage("line %d: a key must be a setting name", k.Line)
		}
		key := k.Value
		if !slices.Contains(known, key) {
			return nil, usage("line %d: unknown setting %q%s", k.Line, key, suggest(key, known))
		}
		if _, dup := out[key]; dup {
			return nil, usage("line %d: %q is set twice", k.Line, key)
		}
		val, err := scalarText(v)
		if err != nil {
			return nil, usage("line %d: %s: %v", v.Line, key, err)
		}
		out[key] = val
	}
	return out, nil
}

// scalarText renders a value as flag text: a scalar as written, a list of
// scalars joined by commas.
func scalarText(v *yaml.Node) (string, error) {
	switch v.Kind {
	case yaml.ScalarNode:
		if v.Tag == "!!null" {
			return "", errors.New("no value: give one or delete the line")
		}
		return v.Value, nil
	case yaml.SequenceNode:
		parts := make([]string, 0, len(v.Content))
		for _, item := range v.Content {
			if item.Kind != yaml.ScalarNode || item.Tag == "!!null" {
				return "", errors.New("a list may hold only plain values")
			}
			if strings.Contains(item.Value, ",") {
				return "", fmt.Errorf("list item %q holds a comma", item.Value)
			}
			parts = append(parts, item.Value)
		}
		return strings.Join(parts, ","), nil
	case yaml.AliasNode:
		return "", errors.New("YAML aliases are not supported here")
	}
	return "", fmt.Errorf("want a value or a list of values, found a %s", kindName(v))
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	case yaml.ScalarNode:
		return "single value"
	case yaml.AliasNode:
		return "alias"
	}
	return "document"
}

// suggest names a known key close to key, for a typo.
func suggest(key string, known []string) string {
	norm := func(s string) string { return strings.ReplaceAll(strings.ToLower(s), "_", "-") }
	for _, k := range known {
		if norm(k) == norm(key) {
			return fmt.Sprintf(" (did you mean %q?)", k)
		}
	}
	best, bestDist := "", 3
	for _, k := range known {
		if d := editDistance(key, k); d < bestDist {
			best, bestDist = k, d
		}
	}
	if best != "" {
		return fmt.Sprintf(" (did you mean %q?)", best)
	}
	return "; see vaejob train --help for the settings"
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
