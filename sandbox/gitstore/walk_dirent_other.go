//go:build unix && (!linux || factory_portablewalk)

package gitstore

import (
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// openDir is the portable version of the Linux getdents walk: macOS uses
// it, and so does Linux built with -tags factory_portablewalk, which is how
// the differential tests against `git add -A` run it on a Linux CI.
func openDir(parent int, name string) (int, []dirent, error) {
	fd, err := unix.Openat(parent, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
	if err != nil {
		return -1, nil, err
	}
	dup, err := unix.Dup(fd)
	if err != nil {
		unix.Close(fd)
		return -1, nil, err
	}
	f := os.NewFile(uintptr(dup), name)
	des, err := f.ReadDir(-1)
	f.Close()
	if err != nil {
		unix.Close(fd)
		return -1, nil, err
	}
	ents := direntsOf(des)
	return fd, ents, nil
}

func closeDir(fd int) { unix.Close(fd) }

// readFileAt reads name in dirfd whole, without following a symlink; a
// read error is returned, not taken for the end of the file (a cut
// .gitignore would capture what it ignores).
func readFileAt(dirfd int, name string) ([]byte, error) {
	fd, err := unix.Openat(dirfd, name, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(fd), name)
	defer f.Close()
	return io.ReadAll(f)
}
