package jobs

import (
	"fmt"
	"hash/fnv"
	"math/rand"
)

// streamRand returns a generator for one named purpose, seeded from the run
// seed, so that adding a use of randomness does not shift the others.
func streamRand(seed int64, stream string) *rand.Rand {
	h := fnv.New64a()
	fmt.Fprintf(h, "%d/%s", seed, stream)
	return rand.New(rand.NewSource(int64(h.Sum64())))
}
