package pipeline

import "github.com/vaejob/vaejob/pipeline/internal/kernel"

// Kernel names the inner loops this process trains and scores with:
// "avx2+fma" for the amd64 assembly kernel, "go" for the plain-Go loops
// (other architectures, the purego build tag, or GODEBUG=cpu.avx2=off).
// The two agree up to float32 rounding, not bit for bit, so a model's
// bytes are reproducible only on the same kernel.
func Kernel() string {
	if kernel.Accelerated {
		return "avx2+fma"
	}
	return "go"
}
