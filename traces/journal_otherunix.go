//go:build unix && !linux && !darwin

package traces

import "os"

// reserve writes the zeros: the BSDs' posix_fallocate is not in the
// standard library, and writing is what it would do on most of their file
// systems anyway.
func reserve(f *os.File, size int64) error { return writeZeros(f, size) }

func prefaultPages([]byte) {}
