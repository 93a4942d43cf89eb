package parquet

import (
	"fmt"
	"path"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
)

// This file decides, from the first file's columns and a Selection, which
// columns are features and which are kept: the plan every later file is
// held to (schema.go).

// role says how a column is used.
type role struct {
	name    string
	feature int // position in Table.Names, or -1
	kept    int // position in Selection.Keep, or -1
}

// plan resolves sel against the first file's top-level fields. It fills
// t.Names and t.Skipped and returns one role per column to read, in file
// order, with the index of its field. Partition keys are never features by
// default, only when named.
func plan(fields []arrow.Field, sel Selection, t *Table) ([]role, []int, error) {
	sel, err := expandSelection(fields, sel)
	if err != nil {
		return nil, nil, err
	}
	cols := indexColumns(fields)
	keepIdx, err := cols.lookup("kept", sel.Keep)
	if err != nil {
		return nil, nil, err
	}
	var featIdx []int
	if len(sel.Features) > 0 {
		featIdx, err = cols.namedFeatures(sel.Features, t)
	} else {
		featIdx, err = cols.defaultFeatures(sel.Exclude, t)
	}
	if err != nil {
		return nil, nil, err
	}
	if err := checkFeatureNames(fields, featIdx); err != nil {
		return nil, nil, err
	}
	roles, idx := assignRoles(fields, featIdx, keepIdx)
	return roles, idx, nil
}

// expandSelection refuses a label or time column (Selection.Reserved)
// named as a feature, expands the patterns of Features and Exclude against
// fields, and, when the features are left to the default, excludes the
// reserved columns the file holds.
func expandSelection(fields []arrow.Field, sel Selection) (Selection, error) {
	var err error
	for _, r := range sel.Reserved {
		if slices.Contains(sel.Features, r) {
			return sel, usageError("column %q is the label or time column and cannot also be a feature", r)
		}
	}
	reserved := func(f arrow.Field) bool { return slices.Contains(sel.Reserved, f.Name) }
	if sel.Features, err = expandPatterns("Features", sel.Features, slices.DeleteFunc(slices.Clone(fields), reserved), true); err != nil {
		return sel, err
	}
	if sel.Exclude, err = expandPatterns("Exclude", sel.Exclude, fields, false); err != nil {
		return sel, err
	}
	if len(sel.Features) == 0 {
		for _, r := range sel.Reserved {
			if !slices.Contains(sel.Exclude, r) && slices.ContainsFunc(fields, func(f arrow.Field) bool { return f.Name == r }) {
				sel.Exclude = append(slices.Clone(sel.Exclude), r)
			}
		}
	}
	return sel, nil
}

// columnIndex finds the columns of a file by name.
type columnIndex struct {
	fields []arrow.Field
	byName map[string][]int // the positions of each name
	all    []string         // every name, in file order
}

func indexColumns(fields []arrow.Field) columnIndex {
	c := columnIndex{fields: fields, byName: make(map[string][]int, len(fields)), all: make([]string, len(fields))}
	for i, f := range fields {
		c.all[i] = f.Name
		c.byName[f.Name] = append(c.byName[f.Name], i)
	}
	return c
}

// lookup resolves names that must exist exactly once in the file; what
// says what the names are for ("kept", "feature", "excluded").
func (c columnIndex) lookup(what string, names []string) ([]int, error) {
	idx := make([]int, len(names))
	var missing []string
	for i, n := range names {
		switch found := c.byName[n]; len(found) {
		case 0:
			missing = append(missing, n)
		case 1:
			idx[i] = found[0]
		default:
			return nil, duplicateColumn(n, len(found))
		}
	}
	if len(missing) > 0 {
		return nil, missingColumns(what, missing, c.all)
	}
	return idx, nil
}

// duplicateColumn refuses a name that n columns of the file share.
func duplicateColumn(name string, n int) error {
	return badInput("column name %q appears %d times in the file; column names must be unique", name, n)
}

// namedFeatures resolves the features named in the Selection, which must
// convert to numbers, and sets t.Names to them.
func (c columnIndex) namedFeatures(names []string, t *Table) ([]int, error) {
	featIdx, err := c.lookup("feature", names)
	if err != nil {
		return nil, err
	}
	var wrong []string
	for i, fi := range featIdx {
		if dt := c.fields[fi].Type; !isConvertible(dt) {
			wrong = append(wrong, fmt.Sprintf("%q is %s", names[i], typeName(dt)))
		}
	}
	if len(wrong) > 0 {
		return nil, badInput("feature columns must be numeric (integer, float, decimal or bool), but %s; leave them out of the features", strings.Join(wrong, ", "))
	}
	t.Names = append([]string(nil), names...)
	return featIdx, nil
}

// defaultFeatures takes every numeric column that is neither a partition
// key nor excluded as a feature, in file order, appending its name to
// t.Names; the non-numeric columns not excluded go to t.Skipped.
func (c columnIndex) defaultFeatures(exclude []string, t *Table) ([]int, error) {
	exIdx, err := c.lookup("excluded", exclude)
	if err != nil {
		return nil, err
	}
	excluded := make(map[int]bool, len(exIdx))
	for _, i := range exIdx {
		excluded[i] = true
	}
	var featIdx []int
	numeric := 0
	for i, f := range c.fields {
		if isPartition(f) {
			continue
		}
		if !isNumeric(f.Type) {
			if !excluded[i] {
				t.Skipped = append(t.Skipped, SkippedColumn{Name: f.Name, Type: typeName(f.Type)})
			}
			continue
		}
		numeric++
		if excluded[i] {
			continue
		}
		if n := len(c.byName[f.Name]); n > 1 {
			return nil, duplicateColumn(f.Name, n)
		}
		featIdx = append(featIdx, i)
		t.Names = append(t.Names, f.Name)
	}
	switch {
	case numeric == 0:
		return nil, badInput("the file has no numeric columns (columns: %s); features must be integer, float or decimal columns", describe(c.fields))
	case len(featIdx) == 0:
		return nil, badInput("every numeric column was excluded; exclude fewer columns")
	}
	return featIdx, nil
}

// assignRoles gives each column read its role, from the field indices of
// the features (in Table.Names order) and of the kept columns (in
// Selection.Keep order): the roles in file order, with their field
// indices.
func assignRoles(fields []arrow.Field, featIdx, keepIdx []int) ([]role, []int) {
	roles := make(map[int]*role)
	get := func(fi int) *role {
		r, ok := roles[fi]
		if !ok {
			r = &role{name: fields[fi].Name, feature: -1, kept: -1}
			roles[fi] = r
		}
		return r
	}
	for j, fi := range featIdx {
		get(fi).feature = j
	}
	for k, fi := range keepIdx {
		get(fi).kept = k
	}
	out := make([]role, 0, len(roles))
	var idx []int
	for i := range fields {
		if r, ok := roles[i]; ok {
			out = append(out, *r)
			idx = append(idx, i)
		}
	}
	return out, idx
}

// missingColumns explains that names do not exist and lists the columns
// that do, with a hint for names differing only in case.
func missingColumns(what string, missing, all []string) error {
	var hints []string
	for _, m := range missing {
		for _, a := range all {
			if strings.EqualFold(m, a) {
				hints = append(hints, fmt.Sprintf("%q instead of %q", a, m))
				break
			}
		}
	}
	noun := "column " + quoteList(missing) + " does"
	if len(missing) > 1 {
		noun = "columns " + quoteList(missing) + " do"
	}
	msg := fmt.Sprintf("%s %s not exist; available columns: %s", what, noun, quoteList(all))
	if len(hints) > 0 {
		msg += "; did you mean " + strings.Join(hints, ", ") + "?"
	}
	return badInput("%s", msg)
}

// describe lists fields with their types for error messages.
func describe(fields []arrow.Field) string {
	parts := make([]string, 0, len(fields))
	for i, f := range fields {
		if i == maxListed {
			parts = append(parts, fmt.Sprintf("... and %d more", len(fields)-maxListed))
			break
		}
		parts = append(parts, fmt.Sprintf("%q %s", f.Name, typeName(f.Type)))
	}
	return strings.Join(parts, ", ")
}

// expandPatterns replaces each name holding a glob pattern (*, ?, [...])
// with the columns it matches, in file order; for features only numeric
// columns that are not partition keys match. Plain names stay as they are.
// A pattern that matches nothing is an error. what is the Selection field
// the names come from.
func expandPatterns(what string, names []string, fields []arrow.Field, numericOnly bool) ([]string, error) {
	if !slices.ContainsFunc(names, hasGlobMeta) {
		return names, nil
	}
	var out []string
	for _, n := range names {
		if !hasGlobMeta(n) {
			if !slices.Contains(out, n) {
				out = append(out, n)
			}
			continue
		}
		matched := 0
		for _, f := range fields {
			ok, err := path.Match(n, f.Name)
			if err != nil {
				return nil, fieldError(ErrUsage, what, "pattern %q: %v", n, err)
			}
			if !ok || numericOnly && (!isNumeric(f.Type) || isPartition(f)) {
				continue
			}
			matched++
			if !slices.Contains(out, f.Name) {
				out = append(out, f.Name)
			}
		}
		if matched == 0 {
			kind := "column"
			if numericOnly {
				kind = "numeric column"
			}
			return nil, fieldError(ErrBadInput, what, "pattern %q matches no %s of the input", n, kind)
		}
	}
	return out, nil
}

// checkFeatureNames refuses a feature column whose name is empty, blank or
// holds control characters: such a name cannot stand for a feature in a
// model, a log line or a command line. Columns that are not features may
// have any name.
func checkFeatureNames(fields []arrow.Field, featIdx []int) error {
	for _, fi := range featIdx {
		name := fields[fi].Name
		switch {
		case strings.TrimSpace(name) == "":
			return badInput("column %d of the input has the name %q, which cannot name a feature; give it a name in the export, or name the features explicitly", fi+1, name)
		case strings.ContainsFunc(name, unicode.IsControl) || !utf8.ValidString(name):
			return badInput("column %d of the input has the name %q, with control characters or invalid UTF-8, which cannot name a feature; rename it in the export, or name the features explicitly", fi+1, name)
		}
	}
	return nil
}
