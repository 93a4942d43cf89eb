//go:build !unix && !windows

package regfile

// openNonblock is 0 where FIFOs do not block an open.
const openNonblock = 0

// openNoFollow is 0 where the flag does not exist; OpenNoFollow still
// refuses a link from the mode it finds.
const openNoFollow = 0
