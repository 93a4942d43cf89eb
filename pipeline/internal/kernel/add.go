package kernel

// Add adds src to dst element by element: dst[i] += src[i] for every
// i < len(src). Each sum is one float32 addition, rounded once, on every
// kernel path, so the results are the same bits everywhere.
func Add(dst, src []float32) {
	check("dst", len(dst), len(src))
	done := add(dst, src)
	addGo(dst[done:len(src)], src[done:])
}

// addGo is Add in plain Go.
func addGo(dst, src []float32) {
	dst = dst[:len(src)]
	for i, v := range src {
		dst[i] += v
	}
}
