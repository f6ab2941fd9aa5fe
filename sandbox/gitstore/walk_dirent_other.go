//go:build unix && !linux

package gitstore

import (
	"os"

	"golang.org/x/sys/unix"
)

// openDir is the portable version of the Linux getdents walk.
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

func readFileAt(dirfd int, name string) ([]byte, error) {
	fd, err := unix.Openat(dirfd, name, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(fd), name)
	defer f.Close()
	var out []byte
	buf := make([]byte, 4096)
	for {
		n, err := f.Read(buf)
		out = append(out, buf[:n]...)
		if err != nil {
			return out, nil
		}
	}
}
