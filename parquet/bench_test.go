package parquet

import (
	"context"
	"testing"
)

func BenchmarkReadTable(b *testing.B) {
	const rows, ncol = 200_000, 20
	cols := make([]col, ncol)
	for j := range cols {
		v := make([]float64, rows)
		for i := range v {
			v[i] = float64(i*j) / 7
		}
		cols[j] = col{name: string(rune('a' + j)), arr: f64s(v)}
	}
	path := writeFixture(b, "big.parquet", 64*1024, cols...)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		tb, err := ReadTable(context.Background(), path, Selection{})
		if err != nil {
			b.Fatal(err)
		}
		if tb.Rows != rows {
			b.Fatal(tb.Rows)
		}
	}
	b.SetBytes(rows * ncol * 8)
}
