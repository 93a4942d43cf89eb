package parquet

import (
	"context"
	"os"
	"testing"
)

// BenchmarkReadDataset reads the dataset in $VAEJOB_READBENCH_DATA (made by
// go run ./cmd/readbench) when it is set.
func BenchmarkReadDataset(b *testing.B) {
	dir := os.Getenv("VAEJOB_READBENCH_DATA")
	if dir == "" {
		b.Skip("set VAEJOB_READBENCH_DATA to a folder made by go run ./cmd/readbench")
	}
	for range b.N {
		if _, err := ReadTable(context.Background(), dir, Selection{}); err != nil {
			b.Fatal(err)
		}
	}
}
