package parquet

import (
	"syscall"
	"unsafe"
)

// adviseHugePages asks the kernel to back a large, freshly allocated
// matrix with transparent huge pages where the system allows them on
// request (transparent_hugepage=madvise): filling 1 GB then takes a few
// hundred page faults instead of a quarter million. Failure is harmless.
func adviseHugePages(v []float32) {
	const huge = 2 << 20
	if cap(v)*4 < 4*huge {
		return
	}
	b := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(v))), cap(v)*4)
	// madvise needs a page-aligned start.
	start := (uintptr(unsafe.Pointer(&b[0])) + huge - 1) &^ (huge - 1)
	skip := int(start - uintptr(unsafe.Pointer(&b[0])))
	if skip >= len(b) {
		return
	}
	syscall.Madvise(b[skip:len(b)-(len(b)-skip)%huge], syscall.MADV_HUGEPAGE)
}
