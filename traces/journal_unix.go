//go:build unix

package traces

import (
	"errors"
	"os"
	"syscall"
)

// journalSupported: every unix has flock and shared mappings, which the
// step journal is made of.
const journalSupported = true

// errSegmentBusy is lockSegment's answer when another process holds the
// segment: its writer is alive.
var errSegmentBusy = errors.New("step journal segment in use by its writer")

// lockSegment takes f's exclusive lock without waiting; it is released
// when f is closed, or when its process dies, which is how a replaying
// opener knows a writer is gone.
func lockSegment(f *os.File) error {
	err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return errSegmentBusy
	}
	return err
}

// mapSegment maps size bytes of f shared and writable: stores into it are
// the page cache's, so they outlive the process.
func mapSegment(f *os.File, size int) ([]byte, error) {
	return syscall.Mmap(int(f.Fd()), 0, size, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED)
}

func unmapSegment(mem []byte) { _ = syscall.Munmap(mem) }
