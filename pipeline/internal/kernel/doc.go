// Package kernel holds the inner loops of training and scoring a VAE: the
// products of the layers' small float32 matrices, the ReLU activation and
// its gradient, and the Adam update (bit for bit gorgonia's AdamSolver).
//
// Gemm computes C += A·B, with A read through arbitrary row and inner
// strides so that one routine computes x·W, xᵀ·dA and, after a transpose
// of W, dA·Wᵀ. The shapes it serves are narrow (9 to a few hundred
// columns, 64 to 256 rows), where a general BLAS spends more time choosing
// a path than multiplying. On amd64 with AVX2 and FMA the work is done by
// a register kernel of four rows by sixteen columns written in assembly;
// elsewhere (and with the purego build tag) by plain Go in the same order
// of summation without fused multiply-adds, so results there differ from
// the kernel's in the last bits.
//
// For a given machine every result depends only on the inputs: each
// element of C is summed over the inner dimension in increasing order,
// starting from the value C held.
//
// # Errors and panics
//
// As in gonum's mat package, misuse panics: a negative shape, a slice too
// short for the shape it is said to hold, or mismatched lengths (Gemm,
// Transpose, ReLU, ReLUGrad and Adam check theirs before they touch
// memory). These are programmer errors in the caller, which sizes every
// buffer from the network's shape, never from user data; no function here
// returns an error. The callers that take user data (pipeline, pipeline/vae)
// check it and return errors before any of it reaches a kernel.
package kernel
