//go:build !linux

package parquet

// adviseHugePages does nothing outside Linux.
func adviseHugePages([]float32) {}

// PrepareHeap does nothing outside Linux; see the Linux version.
func PrepareHeap() {}
