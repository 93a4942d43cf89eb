package parquet

import (
	"fmt"
	"slices"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// This file checks each file after the first against the columns the first
// decided (see plan.go), and turns hive partition keys into columns.

// fieldsOf returns a file's fields followed by its partition keys.
func (d *datasetReader) fieldsOf(src batchSource, in Input) ([]arrow.Field, error) {
	if d.partTypes == nil {
		for k := range in.Partition {
			dt := arrow.DataType(arrow.BinaryTypes.String)
			if partitionIsInt(d.inputs, k) {
				dt = arrow.PrimitiveTypes.Int64
			}
			d.partTypes = append(d.partTypes, dt)
		}
	}
	fields := slices.Clone(src.fields())
	for k, p := range in.Partition {
		if slices.ContainsFunc(fields, func(f arrow.Field) bool { return f.Name == p.Key }) {
			return nil, badInput("the partition directory %s=... names a column the file also holds; rename the column or the partition key", p.Key)
		}
		fields = append(fields, arrow.Field{Name: p.Key, Type: d.partTypes[k], Nullable: true, Metadata: partitionMeta})
	}
	return fields, nil
}

// partitionMeta marks the fields made from hive partition keys.
var partitionMeta = arrow.NewMetadata([]string{"vaejob.partition"}, []string{"true"})

func isPartition(f arrow.Field) bool { return f.Metadata.FindKey("vaejob.partition") >= 0 }

// match finds the columns of the first file in a later one. A missing
// column or one whose type cannot stand in for the first file's is an
// error naming both files; other differences (order, integer or float
// widths) are handled.
func (d *datasetReader) match(fields []arrow.Field, in Input) ([]int, error) {
	byName := map[string]int{}
	for i, f := range fields {
		byName[f.Name] = i
	}
	first := d.inputs[0].Path
	idx := make([]int, len(d.roles))
	var missing []string
	for r, role := range d.roles {
		fi, ok := byName[role.name]
		if !ok {
			missing = append(missing, role.name)
			continue
		}
		idx[r] = fi
		if role.feature >= 0 && !isConvertible(fields[fi].Type) {
			was := d.first[slices.IndexFunc(d.first, func(f arrow.Field) bool { return f.Name == role.name })].Type
			return nil, badInput("column %q changed type: it is %s in %s but %s in %s; features must be numeric in every file",
				role.name, typeName(was), first, typeName(fields[fi].Type), in.Path)
		}
	}
	if len(missing) > 0 {
		return nil, badInput("the schema drifted: %s lacks %s, which %s has; fix the export or leave the column out", in.Path, quoteList(missing), first)
	}
	// Differences that are handled, noted for the log.
	for r, role := range d.roles {
		was := d.first[slices.IndexFunc(d.first, func(f arrow.Field) bool { return f.Name == role.name })].Type
		if now := fields[idx[r]].Type; !arrow.TypeEqual(was, now) {
			d.t.Notes = append(d.t.Notes, fmt.Sprintf("%s: column %q is %s, %s in %s; converted", in.Path, role.name, typeName(now), typeName(was), first))
		}
	}
	order := func(fs []arrow.Field) []string {
		var names []string
		for _, f := range fs {
			if _, ok := byName[f.Name]; ok && !isPartition(f) && slices.ContainsFunc(d.first, func(g arrow.Field) bool { return g.Name == f.Name }) {
				names = append(names, f.Name)
			}
		}
		return names
	}
	if len(d.sel.Features) == 0 {
		for _, f := range fields {
			if isNumeric(f.Type) && !isPartition(f) && !slices.ContainsFunc(d.first, func(g arrow.Field) bool { return g.Name == f.Name }) {
				d.t.Notes = append(d.t.Notes, fmt.Sprintf("%s: numeric column %q is not in %s, which decides the features; left out", in.Path, f.Name, first))
			}
		}
	}
	if !slices.Equal(order(d.first), order(fields)) {
		d.t.Notes = append(d.t.Notes, fmt.Sprintf("%s: columns in another order than in %s; read by name", in.Path, first))
	}
	return idx, nil
}

// partitionArray returns the column of a partition key over a batch of n
// rows: its value v n times, as an int64 or a string as the key's type dt
// says, or n nulls for hive's null marker.
func partitionArray(mem memory.Allocator, dt arrow.DataType, v string, n int) arrow.Array {
	if v == HiveNull {
		return array.MakeArrayOfNull(mem, dt, n)
	}
	if dt.ID() == arrow.INT64 {
		iv, _ := strconv.ParseInt(v, 10, 64)
		return repeatValue(array.NewInt64Builder(mem), iv, n)
	}
	return repeatValue(array.NewStringBuilder(mem), v, n)
}

// repeatValue builds with b, which it releases, an array of n copies of v.
func repeatValue[T any](b interface {
	array.Builder
	Append(T)
}, v T, n int) arrow.Array {
	defer b.Release()
	b.Reserve(n)
	for range n {
		b.Append(v)
	}
	return b.NewArray()
}
