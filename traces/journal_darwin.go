package traces

import (
	"os"

	"golang.org/x/sys/unix"
)

// reserve gives f size bytes of allocated disk space, as on Linux (a store
// into a mapping of unallocated space on a full disk is a SIGBUS): macOS
// has no fallocate but F_PREALLOCATE, which allocates without growing the
// file, so ftruncate then sets its size. A file system that refuses
// F_PREALLOCATE gets the zeros written.
func reserve(f *os.File, size int64) error {
	fd := int(f.Fd())
	st := unix.Fstore_t{Flags: unix.F_ALLOCATEALL, Posmode: unix.F_PEOFPOSMODE, Length: size}
	if err := unix.FcntlFstore(uintptr(fd), unix.F_PREALLOCATE, &st); err != nil {
		if err == unix.ENOSPC {
			return err
		}
		return writeZeros(f, size)
	}
	return unix.Ftruncate(fd, size)
}

// prefaultPages does nothing: macOS has no MADV_POPULATE_WRITE, and
// touching the pages would dirty them; they fault in as they are written.
func prefaultPages([]byte) {}
