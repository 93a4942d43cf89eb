package kernel

import (
	"math"
	"syscall"
	"testing"
	"unsafe"
)

// guarded returns a slice of n float32 values that ends exactly where an
// inaccessible page begins: reading one element past its capacity faults.
func guarded(t *testing.T, n int) []float32 {
	t.Helper()
	page := syscall.Getpagesize()
	size := (n*4+page-1)/page*page + page
	mem, err := syscall.Mmap(-1, 0, size, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		t.Skipf("mmap: %v", err)
	}
	t.Cleanup(func() { syscall.Munmap(mem) })
	if err := syscall.Mprotect(mem[size-page:], syscall.PROT_NONE); err != nil {
		t.Skipf("mprotect: %v", err)
	}
	end := size - page
	return unsafe.Slice((*float32)(unsafe.Pointer(&mem[end-4*n])), n)
}

// TestGemmStaysInBounds runs Gemm and ReLU on slices that end at an
// inaccessible page, with column counts that leave masked tails: a read
// or write past the end would crash the test.
func TestGemmStaysInBounds(t *testing.T) {
	for _, s := range []struct{ m, n, k int }{{5, 9, 3}, {4, 21, 300}, {1, 1, 1}, {7, 17, 600}, {3, 5, 7}} {
		a := guarded(t, s.m*s.k)
		b := guarded(t, s.k*s.n)
		c := guarded(t, s.m*s.n)
		for i := range a {
			a[i] = float32(i%5) - 2
		}
		for i := range b {
			b[i] = float32(i%3) - 1
		}
		for i := range c {
			c[i] = 1
		}
		want := naive(s.m, s.n, s.k, a, s.k, 1, b, s.n, c, s.n)
		Gemm(s.m, s.n, s.k, a, s.k, 1, b, s.n, c, s.n)
		for i := range c {
			if math.Abs(float64(c[i])-want[i]) > 1e-3 {
				t.Fatalf("%v: c[%d] = %g, want %g", s, i, c[i], want[i])
			}
		}
		ReLU(c, c)
		ReLUGrad(c, c)
	}
}
