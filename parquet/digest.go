package parquet

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
)

// Digest streams the file at path and returns its size in bytes and the
// lowercase hex SHA-256 of its contents. A missing, unreadable or
// non-regular file is an error wrapping [ErrBadInput].
func Digest(path string) (size int64, sha256hex string, err error) {
	f, _, err := openInput(path)
	if err != nil {
		return 0, "", fmt.Errorf("digest %s: %w", path, err)
	}
	defer f.Close()
	h := sha256.New()
	size, err = io.Copy(h, f)
	if err != nil {
		return 0, "", fmt.Errorf("digest %s: %w", path, badInput("cannot read the file: %w", err))
	}
	return size, hex.EncodeToString(h.Sum(nil)), nil
}
