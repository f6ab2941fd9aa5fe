package patch

import (
	"errors"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// openFlags are added to every open of a file. O_NONBLOCK changes nothing
// for a regular file, but it spares the runtime's four fcntl calls per open
// (it otherwise sets and clears the flag itself to try the poller), and an
// open of a FIFO planted meanwhile does not block.
const openFlags = syscall.O_NONBLOCK

// noFollow opens the name itself, never what a symlink there names.
const noFollow = syscall.O_NOFOLLOW

// exchange atomically swaps the names tmp and base in the directory dir:
// at every instant base is the old file or the new one. Replacing a file
// with rename(2) makes ext4 start writing the new file out at once
// (auto_da_alloc), which cost more than the rest of a 600-file patch; an
// exchange does not, and it leaves the old file under tmp, where it can be
// checked once more and swapped back. errNoExchange means the file system
// or kernel cannot exchange.
func exchange(dir *os.File, tmp, base string) error {
	fd := int(dir.Fd())
	err := unix.Renameat2(fd, tmp, fd, base, unix.RENAME_EXCHANGE)
	if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.EOPNOTSUPP) {
		return errNoExchange
	}
	return err
}

// sameChangeTime reports whether a and b, from lstat, have the same change
// time.
func sameChangeTime(a, b os.FileInfo) bool {
	sa, oka := a.Sys().(*syscall.Stat_t)
	sb, okb := b.Sys().(*syscall.Stat_t)
	return !oka || !okb || sa.Ctim == sb.Ctim
}

// soleOwnFile reports whether info, from stat, is a file with one name,
// owned by the user and group uid and gid.
func soleOwnFile(info os.FileInfo, uid, gid int) bool {
	st, ok := info.Sys().(*syscall.Stat_t)
	return ok && st.Nlink == 1 && int(st.Uid) == uid && int(st.Gid) == gid
}

// unshared reports whether the content written into f is seen by no one
// but the file's next name: f carries no extended attribute (an access
// control list, a security label, a capability, which the content would
// inherit where a new file would not), and f, open for writing, is the only
// open file of its inode anywhere (a write lease is granted only then: the
// kernel counts every open file description, those kept by a mapping
// included). The lease lasts until f is closed; a program that opens the
// file meanwhile waits for that. A file system or kernel without leases
// answers false.
func unshared(f *os.File) bool {
	c, err := f.SyscallConn()
	if err != nil {
		return false
	}
	ok := false
	if err := c.Control(func(fd uintptr) {
		n, err := unix.Flistxattr(int(fd), nil)
		if err == nil && n == 0 {
			_, err = unix.FcntlInt(fd, unix.F_SETLEASE, unix.F_WRLCK)
			ok = err == nil
		}
	}); err != nil {
		return false
	}
	return ok
}
