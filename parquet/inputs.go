package parquet

import (
	"bytes"
	"cmp"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// InputFormat is the container format of an input file, recognised by content.
type InputFormat string

// Input formats.
const (
	FormatParquet     InputFormat = "parquet"
	FormatArrowFile   InputFormat = "arrow-file"   // Arrow IPC file (Feather v2)
	FormatArrowStream InputFormat = "arrow-stream" // Arrow IPC stream
)

// Input is one file of a dataset.
type Input struct {
	Path   string
	Format InputFormat
	Size   int64
	// Partition holds the hive partition keys of the file's path below the
	// folder it was found in (dt=2026-11-24/part-0.parquet gives dt), in
	// path order.
	Partition []PartitionValue
}

// PartitionValue is one key=value directory of a hive-partitioned path.
type PartitionValue struct {
	Key, Value string
}

// arrowMagic starts (and ends) every Arrow IPC file.
var arrowMagic = []byte("ARROW1")

// ResolveInputs turns input arguments into the files of a dataset: each
// argument is a file, a folder (read recursively, in lexical order), or a
// glob. Inside folders, files whose name starts with "_" or "." (Spark's
// _SUCCESS, checksums) are skipped; any other file must be Parquet or Arrow
// IPC, recognised by content. A file named twice is read once.
func ResolveInputs(args []string) ([]Input, error) {
	if len(args) == 0 {
		return nil, usageError("no input given; pass a Parquet or Arrow file, a folder or a glob")
	}
	var out []Input
	seen := map[string]bool{}
	// add adds one file; found says it came from a folder or glob, so its
	// errors must name it.
	add := func(path, root string, found bool) error {
		clean := filepath.Clean(path)
		if seen[clean] {
			return nil
		}
		seen[clean] = true
		in, err := inspect(path)
		if err != nil {
			if found {
				return fmt.Errorf("%s: %w", path, err)
			}
			return err
		}
		in.Partition = hiveKeys(root, path)
		out = append(out, in)
		return nil
	}
	for _, arg := range args {
		paths, root := []string{arg}, ""
		if hasGlobMeta(arg) {
			m, err := filepath.Glob(arg)
			if err != nil {
				return nil, usageError("input pattern %q: %v", arg, err)
			}
			// As in folders, a pattern skips _SUCCESS, checksums and the like.
			m = slices.DeleteFunc(m, func(p string) bool { return hidden(filepath.Base(p)) })
			if len(m) == 0 {
				return nil, badInput("input pattern %q matches no data file; check the path", arg)
			}
			paths, root = m, globRoot(arg)
		}
		for _, p := range paths {
			st, err := os.Stat(p)
			if err != nil || !st.IsDir() {
				if err := add(p, cmp.Or(root, filepath.Dir(p)), p != arg); err != nil {
					return nil, err
				}
				continue
			}
			files := 0
			err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
				if err != nil {
					return badInput("cannot list %s: %w", path, err)
				}
				name := d.Name()
				if path != p && hidden(name) {
					if d.IsDir() {
						return filepath.SkipDir
					}
					return nil
				}
				switch t := d.Type(); {
				case d.IsDir() || t&fs.ModeSymlink != 0:
					return nil
				case !t.IsRegular():
					// Never opened: a FIFO would block the read.
					return fmt.Errorf("%s: %w", path, checkRegular(t))
				}
				files++
				return add(path, cmp.Or(root, p), true)
			})
			if err != nil {
				return nil, err
			}
			if files == 0 {
				return nil, badInput("folder %s holds no data files; give a folder of Parquet or Arrow files", p)
			}
		}
	}
	if err := checkPartitions(out); err != nil {
		return nil, err
	}
	return out, nil
}

func hasGlobMeta(s string) bool { return strings.ContainsAny(s, "*?[") }

// inspect opens path and recognises its format from its first bytes.
func inspect(path string) (Input, error) {
	f, size, err := openInput(path)
	if err != nil {
		return Input{}, err
	}
	defer f.Close()
	format, err := sniff(f, size)
	if err != nil {
		return Input{}, err
	}
	return Input{Path: path, Format: format, Size: size}, nil
}

// sniff tells Parquet from Arrow IPC by the magic bytes, and explains what
// a file that is neither looks like.
func sniff(f *os.File, size int64) (InputFormat, error) {
	if size == 0 {
		return "", badInput("the file is empty; expected a Parquet or Arrow file")
	}
	head := make([]byte, 512)
	n, err := f.ReadAt(head, 0)
	if err != nil && err != io.EOF {
		return "", badInput("cannot read the file: %w", err)
	}
	head = head[:n]
	switch {
	case bytes.HasPrefix(head, parquetMagic):
		return FormatParquet, checkParquetTail(f, size)
	case bytes.HasPrefix(head, encryptedParquetMagic):
		return "", unsupported("the Parquet file is encrypted (Parquet modular encryption, encrypted footer), which vaejob cannot read; write it without encryption")
	case bytes.HasPrefix(head, arrowMagic):
		return FormatArrowFile, nil
	case bytes.HasPrefix(head, []byte{0xff, 0xff, 0xff, 0xff}):
		return FormatArrowStream, nil
	case looksLikeText(head):
		return "", badInput("not a Parquet file (nor Arrow IPC): it looks like a text file (CSV?); convert it to Parquet first, e.g. with DuckDB or pandas")
	}
	return "", badInput("not a Parquet file (nor Arrow IPC): it does not start with the Parquet magic bytes \"PAR1\" or an Arrow IPC marker")
}

// hiveKeys returns the key=value directories of path below root (the
// folder or the fixed start of the pattern it was found through),
// outermost first: data/dt=2026-11-24/part-0.parquet found in data has the
// partition key dt.
func hiveKeys(root, path string) []PartitionValue {
	rel, err := filepath.Rel(root, filepath.Dir(path))
	if err != nil || rel == "." || strings.HasPrefix(rel, "..") {
		return nil
	}
	var keys []PartitionValue
	for _, part := range strings.Split(filepath.ToSlash(rel), "/") {
		k, v, ok := strings.Cut(part, "=")
		if ok && k != "" {
			keys = append(keys, PartitionValue{Key: k, Value: unescapeHive(v)})
		}
	}
	return keys
}

// globRoot returns the folders of a pattern before its first wildcard.
func globRoot(pattern string) string {
	parts := strings.Split(filepath.ToSlash(pattern), "/")
	i := slices.IndexFunc(parts, hasGlobMeta)
	if i <= 0 {
		return "."
	}
	return filepath.FromSlash(strings.Join(parts[:i], "/"))
}

// hidden reports names that datasets skip: Spark's _SUCCESS and
// _committed files, checksums and other dot files.
func hidden(name string) bool {
	return strings.HasPrefix(name, "_") || strings.HasPrefix(name, ".")
}

// unescapeHive undoes the %XX escaping hive writers apply to partition
// values; a malformed escape is kept as it is.
func unescapeHive(v string) string {
	if !strings.Contains(v, "%") {
		return v
	}
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		if v[i] == '%' && i+2 < len(v) {
			if c, err := strconv.ParseUint(v[i+1:i+3], 16, 8); err == nil {
				b.WriteByte(byte(c))
				i += 2
				continue
			}
		}
		b.WriteByte(v[i])
	}
	return b.String()
}

// checkPartitions requires every file to have the same partition keys in
// the same order, so that they form columns.
func checkPartitions(ins []Input) error {
	if len(ins) < 2 {
		return nil
	}
	keys := func(in Input) []string {
		var k []string
		for _, p := range in.Partition {
			k = append(k, p.Key)
		}
		return k
	}
	first := keys(ins[0])
	for _, in := range ins[1:] {
		if k := keys(in); !slices.Equal(k, first) {
			return badInput("the files are partitioned differently: %s has partition keys [%s], %s has [%s]; give one dataset at a time",
				ins[0].Path, strings.Join(first, ", "), in.Path, strings.Join(k, ", "))
		}
	}
	return nil
}

// partitionIsInt reports whether every file's value of partition key k
// is a decimal integer, so that the key becomes an int64 column rather than
// a string, as Spark infers partition types (hour=01 is 1; a zero-padded
// code such as zip=00501 loses its zeros, so filter it as a number).
// Hive's null marker does not count against it.
func partitionIsInt(ins []Input, k int) bool {
	for _, in := range ins {
		v := in.Partition[k].Value
		if v == HiveNull {
			continue
		}
		if _, err := strconv.ParseInt(v, 10, 64); err != nil || strings.HasPrefix(v, "+") {
			return false
		}
	}
	return true
}

// HiveNull is the partition value hive writers use for a null.
const HiveNull = "__HIVE_DEFAULT_PARTITION__"
