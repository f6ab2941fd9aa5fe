package traces

import (
	"errors"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// reserve gives f size bytes of allocated disk space. A store into a
// mapping of a sparse file on a full disk kills the process with SIGBUS;
// a store into allocated space cannot fail. A full disk is reported here
// instead, and RecordStep then writes synchronously.
func reserve(f *os.File, size int64) error {
	err := syscall.Fallocate(int(f.Fd()), 0, 0, size)
	if !errors.Is(err, syscall.EOPNOTSUPP) {
		return err
	}
	return writeZeros(f, size) // a file system without fallocate
}

// prefaultPages faults mem's pages in writable without touching their
// bytes (MADV_POPULATE_WRITE, Linux 5.14). On an older kernel the call
// fails and pages fault in as they are written.
func prefaultPages(mem []byte) { _ = unix.Madvise(mem, unix.MADV_POPULATE_WRITE) }
