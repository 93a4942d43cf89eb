package parquet

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"os"
)

// Digest streams the file at path and returns its size in bytes and the
// lowercase hex SHA-256 of its contents. A missing, unreadable or
// non-regular file is an error wrapping [ErrBadInput]. Cancelling ctx
// stops it before the next buffer (1 MiB), with ctx.Err().
func Digest(ctx context.Context, path string) (size int64, sha256hex string, err error) {
	f, _, err := openInput(path)
	if err != nil {
		return 0, "", fmt.Errorf("digest %s: %w", path, err)
	}
	defer f.Close()
	h := sha256.New()
	buf := make([]byte, digestBuffer)
	for {
		if err := ctx.Err(); err != nil {
			return 0, "", err
		}
		n, err := digestRead(f, buf)
		h.Write(buf[:n])
		size += int64(n)
		if err == io.EOF {
			break
		}
		if err != nil {
			return 0, "", fmt.Errorf("digest %s: %w", path, badInput("cannot read the file: %w", err))
		}
	}
	return size, hex.EncodeToString(h.Sum(nil)), nil
}

// digestRead reads the next buffer of a digest; tests replace it to watch.
var digestRead = (*os.File).Read

// digestBuffer is how many bytes Digest reads between two looks at its
// context.
const digestBuffer = 1 << 20

// FooterDigest is a cheap fingerprint for huge inputs: the SHA-256 of the
// file's size and its Parquet footer, which holds the schema, the row
// counts and the statistics (min, max, nulls) of every column chunk, so a
// rewritten file almost always gets another fingerprint, at the cost of
// reading a few KiB instead of the whole file. Arrow IPC files and streams
// carry no statistics, so for them it hashes the size and the first and
// last 64 KiB (the schema, the first batches and, for a file, its footer).
// It is not a content hash: files that differ only inside are not told
// apart.
func FooterDigest(in Input) (size int64, sha256hex string, err error) {
	f, size, err := openInput(in.Path)
	if err != nil {
		return 0, "", fmt.Errorf("digest %s: %w", in.Path, err)
	}
	defer f.Close()
	h := sha256.New()
	fmt.Fprintf(h, "%d\n", size)
	read := func(off, n int64) error {
		if off < 0 || n < 0 || off+n > size {
			return badInput("the footer length is corrupt")
		}
		_, err := io.Copy(h, io.NewSectionReader(f, off, n))
		return err
	}
	switch in.Format {
	case FormatParquet:
		magic := int64(len(parquetMagic))
		tail := make([]byte, 4)
		if size < 4+magic {
			return 0, "", fmt.Errorf("digest %s: %w", in.Path, badInput("the file is too small to have a footer"))
		}
		if _, err := f.ReadAt(tail, size-magic-4); err != nil {
			return 0, "", fmt.Errorf("digest %s: %w", in.Path, badInput("cannot read the footer: %w", err))
		}
		footer := int64(binary.LittleEndian.Uint32(tail))
		err = read(size-magic-4-footer, footer+4+magic)
	default:
		const edge = 64 << 10
		if size <= 2*edge {
			err = read(0, size)
		} else if err = read(0, edge); err == nil {
			err = read(size-edge, edge)
		}
	}
	if err != nil {
		return 0, "", fmt.Errorf("digest %s: %w", in.Path, badInput("cannot read the footer: %w", err))
	}
	return size, hex.EncodeToString(h.Sum(nil)), nil
}
