package parquet

import (
	"math/bits"
	"sync"
	"unsafe"
)

// scratch lends the buffers of one unit of a read (a row group's decoded
// values and definition levels, its rows converted to float32) from a pool
// shared by the whole process, and gives them back when the unit is done
// with them. A read that gathers every row then decodes row group after
// row group into the same few buffers: without them the garbage of a 10M ×
// 32 read (twice the table) made the heap twice the table's size and the
// system fault in and zero a fresh page for every 4 KiB decoded.
//
// A nil *scratch lends nothing: its buffers are new, for the garbage
// collector to free, as arrays handed to a caller must be.
type scratch struct {
	held []*[]uint64
}

// wordPools holds free buffers by size class: pool k holds buffers of
// 1<<k words.
var wordPools [48]sync.Pool

// words returns a buffer of n words, not zeroed, lent by s.
func (s *scratch) words(n int) []uint64 {
	if s == nil {
		return make([]uint64, n)
	}
	k := bits.Len(uint(n - 1))
	p, _ := wordPools[k].Get().(*[]uint64)
	if p == nil {
		b := make([]uint64, 1<<k)
		p = &b
	}
	s.held = append(s.held, p)
	return (*p)[:n]
}

// giveBack returns every buffer s lent to the pool; none may be used after.
func (s *scratch) giveBack() {
	if s == nil {
		return
	}
	for _, p := range s.held {
		wordPools[bits.Len(uint(len(*p)-1))].Put(p)
	}
	s.held = nil
}

// lendSlice returns a slice of n values of T lent by s (new when s is
// nil); its contents are undefined.
func lendSlice[T int16 | int32 | int64 | float32 | float64](s *scratch, n int) []T {
	if s == nil || n == 0 {
		return make([]T, n)
	}
	var zero T
	w := s.words((n*int(unsafe.Sizeof(zero)) + 7) / 8)
	return unsafe.Slice((*T)(unsafe.Pointer(unsafe.SliceData(w))), n)
}

// pagePool is a memory.Allocator that lends the page buffers of Parquet
// column readers (compressed and decompressed pages, dictionary pages)
// from pools by size class, and takes them back when a reader is closed.
// Only readers whose values are copied out before they close use it
// (directColumn with a scratch): nothing may point into a page once its
// reader is closed. The buffers are not zeroed: a page reader writes a
// page before it reads it.
type pagePool struct{}

// pageBuffers holds free page buffers: pool k holds buffers of 1<<k
// bytes.
var pageBuffers [48]sync.Pool

func (pagePool) Allocate(size int) []byte {
	if size <= 0 {
		return []byte{}
	}
	k := bits.Len(uint(size - 1))
	if p, _ := pageBuffers[k].Get().(*[]byte); p != nil {
		return (*p)[:size]
	}
	return make([]byte, size, 1<<k)
}

func (a pagePool) Reallocate(size int, b []byte) []byte {
	if size <= cap(b) {
		return b[:size]
	}
	nb := a.Allocate(size)
	copy(nb, b)
	a.Free(b)
	return nb
}

func (pagePool) Free(b []byte) {
	c := cap(b)
	if c == 0 || c&(c-1) != 0 {
		return // not one of ours: the garbage collector's
	}
	b = b[:c]
	pageBuffers[bits.Len(uint(c-1))].Put(&b)
}
