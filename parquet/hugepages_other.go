//go:build !linux

package parquet

// adviseHugePages does nothing outside Linux.
func adviseHugePages([]float32) {}
