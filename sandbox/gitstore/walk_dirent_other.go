//go:build unix && !linux

package gitstore

import (
	"io/fs"
	"os"

	"golang.org/x/sys/unix"
)

// dirent is one entry of a directory listing (see walk_dirent_linux.go).
type dirent struct {
	name string
	typ  fs.FileMode
}

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
	ents := make([]dirent, 0, len(des))
	for _, de := range des {
		t := de.Type()
		switch {
		case t.IsRegular():
			t = 0
		case t.IsDir():
			t = fs.ModeDir
		case t&fs.ModeSymlink != 0:
			t = fs.ModeSymlink
		default:
			t = fs.ModeIrregular
		}
		ents = append(ents, dirent{name: de.Name(), typ: t})
	}
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
