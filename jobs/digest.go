package jobs

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"github.com/vaejob/vaejob/parquet"
	"github.com/vaejob/vaejob/parquet/regfile"
	"github.com/vaejob/vaejob/pipeline"
)

// inputDigests are the fingerprints of the input files (err: why they
// could not be taken).
type inputDigests struct {
	files    []InputFile
	combined string // the file's digest, or for several files the SHA-256 of "digest  path" lines
	err      error
}

// digestInputs digests every input file, its whole bytes or, with
// --digest size+footer (kind DigestFooter), its size and footer, and
// combines the digests into one for the model's metadata.
func digestInputs(ctx context.Context, files []parquet.Input, kind string) inputDigests {
	digestOf := func(f parquet.Input) (int64, string, error) { return parquet.Digest(ctx, f.Path) }
	if kind == DigestFooter {
		digestOf = parquet.FooterDigest
	}
	// Each file on its own goroutine, as many at once as GOMAXPROCS
	// allows; the digests combine in the files' order.
	out := inputDigests{files: make([]InputFile, len(files))}
	errs := make([]error, len(files))
	pipeline.Each(len(files), func(i int) {
		f := files[i]
		size, digest, err := digestOf(f)
		out.files[i], errs[i] = InputFile{Path: f.Path, Size: size, SHA256: digest, DigestKind: kind}, err
	})
	sums := sha256.New()
	for i, f := range out.files {
		if errs[i] != nil {
			return inputDigests{err: errs[i]}
		}
		fmt.Fprintf(sums, "%s  %s\n", f.SHA256, f.Path)
	}
	out.combined = out.files[0].SHA256
	if len(files) > 1 {
		out.combined = hex.EncodeToString(sums.Sum(nil))
	}
	return out
}

// sha256Hex is the SHA-256 of b in hexadecimal, as run.json records
// digests.
func sha256Hex(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// fileDigest returns the size and SHA-256 of a file a flag names, of at
// most limit bytes (see regfile.ReadFile).
func fileDigest(path string, limit int64) (int64, string, error) {
	b, err := regfile.ReadFile(path, limit)
	if err != nil {
		return 0, "", err
	}
	return int64(len(b)), sha256Hex(b), nil
}
