//go:build linux && !factory_portablewalk

package gitstore

import (
	"encoding/binary"
	"io/fs"
	"sync"

	"golang.org/x/sys/unix"
)

var direntBufs = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// openDir opens the directory name inside the directory open as parent
// (unix.AT_FDCWD with an absolute name for the top) and lists it with raw
// getdents64 calls: no os.File, no poller registration, one path element
// for the kernel to resolve. The caller closes fd with closeDir.
func openDir(parent int, name string) (fd int, ents []dirent, err error) {
	for {
		fd, err = unix.Openat(parent, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		return -1, nil, err
	}
	bp := direntBufs.Get().(*[]byte)
	defer direntBufs.Put(bp)
	buf := *bp
	for {
		n, err := unix.Getdents(fd, buf)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			unix.Close(fd)
			return -1, nil, err
		}
		if n <= 0 {
			break
		}
		for off := 0; off < n; {
			// struct linux_dirent64 { u64 ino; s64 off; u16 reclen; u8 type; char name[]; }
			reclen := int(binary.NativeEndian.Uint16(buf[off+16:]))
			typ := buf[off+18]
			nameb := buf[off+19 : off+reclen]
			for i, c := range nameb {
				if c == 0 {
					nameb = nameb[:i]
					break
				}
			}
			off += reclen
			if len(nameb) == 1 && nameb[0] == '.' || len(nameb) == 2 && nameb[0] == '.' && nameb[1] == '.' {
				continue
			}
			d := dirent{name: string(nameb)}
			switch typ {
			case unix.DT_REG:
			case unix.DT_DIR:
				d.typ = fs.ModeDir
			case unix.DT_LNK:
				d.typ = fs.ModeSymlink
			case unix.DT_UNKNOWN:
				var st unix.Stat_t
				if unix.Fstatat(fd, d.name, &st, unix.AT_SYMLINK_NOFOLLOW) != nil {
					continue
				}
				switch st.Mode & unix.S_IFMT {
				case unix.S_IFREG:
				case unix.S_IFDIR:
					d.typ = fs.ModeDir
				case unix.S_IFLNK:
					d.typ = fs.ModeSymlink
				default:
					d.typ = fs.ModeIrregular
				}
			default:
				d.typ = fs.ModeIrregular
			}
			ents = append(ents, d)
		}
	}
	return fd, ents, nil
}

func closeDir(fd int) { unix.Close(fd) }

// readFileAt reads the regular file name in the directory open as dirfd,
// refusing to follow a symlink (as git does for .gitignore).
func readFileAt(dirfd int, name string) ([]byte, error) {
	fd, err := unix.Openat(dirfd, name, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	var out []byte
	buf := make([]byte, 4096)
	for {
		n, err := unix.Read(fd, buf)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, err
		}
		if n == 0 {
			return out, nil
		}
		out = append(out, buf[:n]...)
	}
}
