package patch

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// openFlags are added to every open of a file. O_NONBLOCK changes nothing
// for a regular file, but it spares the runtime's four fcntl calls per open
// (it otherwise sets and clears the flag itself to try the poller), and an
// open of a FIFO planted meanwhile does not block.
const openFlags = syscall.O_NONBLOCK

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

// heldFile is a reused file, open for writing under its write lease.
type heldFile struct {
	fd   int
	st   syscall.Stat_t // the file as reuse found it
	made fs.FileInfo    // what rewrite made, its times aside
}

// reuse opens for writing the file name in dir, which an exchange took
// out of the tree and checked to be want, the file the patch read, when
// that file may hold another write: it is still that very file (not a file
// or link put under its name since), a regular file with no other name (a
// hard link elsewhere, in .git or outside the workspace, would see the
// write), owned by this process's user and group like a new file, with no
// extended attribute (an access list would carry over to the new
// content), and open nowhere else, which the write lease it then holds
// proves: a program that held the old file open (an editor, a logger)
// would otherwise write, later, into another file's content. It opens and
// stats the file by descriptor, without the runtime's file (whose poller
// registration costs a system call per file).
func reuse(dir *os.File, name string, want fs.FileInfo, owner [2]int) (*heldFile, int64, error) {
	fd, err := unix.Openat(int(dir.Fd()), name, unix.O_WRONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, 0, errNotReusable
	}
	w, _ := want.Sys().(*syscall.Stat_t)
	var st syscall.Stat_t
	if w == nil || syscall.Fstat(fd, &st) != nil || st.Mode&syscall.S_IFMT != syscall.S_IFREG || st.Dev != w.Dev || st.Ino != w.Ino ||
		st.Nlink != 1 || int(st.Uid) != owner[0] || int(st.Gid) != owner[1] || !unshared(fd) {
		unix.Close(fd)
		return nil, 0, errNotReusable
	}
	return &heldFile{fd: fd, st: st}, st.Size, nil
}

// unshared reports whether the content written into fd is seen by no one
// but the file's next name: it carries no extended attribute (an access
// control list, a security label, a capability, which the content would
// inherit where a new file would not), and fd, open for writing, is the
// only open file of its inode anywhere (a write lease is granted only
// then: the kernel counts every open file description, those kept by a
// mapping included). The lease lasts until fd is closed. A file system or
// kernel without leases answers false.
func unshared(fd int) bool {
	n, err := unix.Flistxattr(fd, nil)
	if err != nil || n != 0 {
		return false
	}
	_, err = unix.FcntlInt(uintptr(fd), unix.F_SETLEASE, unix.F_WRLCK)
	return err == nil
}

// rewrite makes h's file, of size size, hold data with the mode a new
// file would get, and records what it made, all but its times (the undo
// compares content instead); the file stays open. The data is written
// over the old bytes and the file then cut to its length if it was
// longer, never truncated to zero first: ext4 writes a file truncated to
// zero out on close (auto_da_alloc), as it does on a rename over a file;
// and a truncation costs a journalled orphan entry, so it is skipped when
// the data covers the old bytes. The mode is set only when the old one
// differs: a write only ever clears bits (set-user-id, set-group-id), and
// the mode set is exact.
func (h *heldFile) rewrite(size int64, data []byte, perm fs.FileMode, exact bool) error {
	for off := 0; off < len(data); {
		n, err := unix.Pwrite(h.fd, data[off:], int64(off))
		switch {
		case err == unix.EINTR:
			continue
		case err != nil:
			return err
		case n == 0:
			return io.ErrShortWrite
		}
		off += n
	}
	if size > int64(len(data)) {
		if err := unix.Ftruncate(h.fd, int64(len(data))); err != nil {
			return err
		}
	}
	want := perm
	if !exact {
		want = perm &^ processUmask()
	}
	st := h.st
	if fileMode(st.Mode) != want {
		if err := unix.Fchmod(h.fd, uint32(want.Perm())); err != nil {
			return err
		}
		st.Mode = syscall.S_IFREG | uint32(want.Perm())
	}
	st.Size = int64(len(data))
	st.Mtim, st.Ctim = syscall.Timespec{}, syscall.Timespec{} // unknown: never the old file's
	h.made = &statInfo{st: st}
	return nil
}

func (h *heldFile) close() { unix.Close(h.fd) }

// statInfo is the fs.FileInfo of a stat made without the runtime's
// os.Root (which allocates a path split and a name per call): its Sys is a
// *syscall.Stat_t, as os's is, so the two compare.
type statInfo struct {
	name string
	st   syscall.Stat_t
}

func (i *statInfo) Name() string       { return i.name }
func (i *statInfo) Size() int64        { return i.st.Size }
func (i *statInfo) Mode() fs.FileMode  { return fileMode(i.st.Mode) }
func (i *statInfo) ModTime() time.Time { return time.Unix(i.st.Mtim.Unix()) }
func (i *statInfo) IsDir() bool        { return i.Mode().IsDir() }
func (i *statInfo) Sys() any           { return &i.st }

// fileMode is the fs.FileMode of an st_mode, as os reports it.
func fileMode(m uint32) fs.FileMode {
	mode := fs.FileMode(m & 0o777)
	switch m & syscall.S_IFMT {
	case syscall.S_IFBLK:
		mode |= fs.ModeDevice
	case syscall.S_IFCHR:
		mode |= fs.ModeDevice | fs.ModeCharDevice
	case syscall.S_IFDIR:
		mode |= fs.ModeDir
	case syscall.S_IFIFO:
		mode |= fs.ModeNamedPipe
	case syscall.S_IFLNK:
		mode |= fs.ModeSymlink
	case syscall.S_IFSOCK:
		mode |= fs.ModeSocket
	}
	if m&syscall.S_ISUID != 0 {
		mode |= fs.ModeSetuid
	}
	if m&syscall.S_ISGID != 0 {
		mode |= fs.ModeSetgid
	}
	if m&syscall.S_ISVTX != 0 {
		mode |= fs.ModeSticky
	}
	return mode
}

// lstatIn is dr.Lstat(name), for name in the directory of the path p,
// made on that directory's descriptor.
func (t *tree) lstatIn(dr *os.Root, p, name string) (fs.FileInfo, error) {
	dir, err := t.dirFD(path.Dir(p))
	if err != nil {
		return nil, err
	}
	var st unix.Stat_t
	for {
		err = unix.Fstatat(dir, name, &st, unix.AT_SYMLINK_NOFOLLOW)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		return nil, &fs.PathError{Op: "lstat", Path: path.Join(path.Dir(p), name), Err: err}
	}
	return &statInfo{name: name, st: syscall.Stat_t{Dev: st.Dev, Ino: st.Ino, Nlink: st.Nlink, Mode: st.Mode, Uid: st.Uid, Gid: st.Gid,
		Rdev: st.Rdev, Size: st.Size, Mtim: syscall.Timespec(st.Mtim), Ctim: syscall.Timespec(st.Ctim)}}, nil
}

// sameFile reports whether a and b, from stat, are the same file.
func sameFile(a, b fs.FileInfo) bool {
	sa, oka := a.Sys().(*syscall.Stat_t)
	sb, okb := b.Sys().(*syscall.Stat_t)
	return oka && okb && sa.Dev == sb.Dev && sa.Ino == sb.Ino
}

// readRegular reads the regular file p, in dr, which its lstat said holds
// size bytes: by descriptor in its directory, like readFile on other
// systems (in one read when the file still holds size bytes) but without
// the runtime's file and its poller registration, a system call per file.
func (t *tree) readRegular(dr *os.Root, p string, size int64) ([]byte, error) {
	dir, err := t.dirFD(path.Dir(p))
	if err != nil {
		return nil, err
	}
	fd, err := unix.Openat(dir, path.Base(p), unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: p, Err: err}
	}
	defer unix.Close(fd)
	data := t.buf.alloc(int(size) + 1)
	for {
		n, err := unix.Read(fd, data[len(data):cap(data)])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, &fs.PathError{Op: "read", Path: p, Err: err}
		}
		if n == 0 {
			return data, nil
		}
		first := len(data) == 0
		data = data[:len(data)+n]
		if first && int64(n) == size {
			return data, nil
		}
		if len(data) == cap(data) {
			data = append(data, 0)[:len(data)]
		}
	}
}

// Prepare only reads, so on Linux it reads through plain directory
// descriptors, each opened from its parent's with O_NOFOLLOW|O_DIRECTORY
// (the open itself refuses a symlink or a file): an os.Root per directory
// and a second descriptor for the system calls it does not offer cost six
// more system calls a directory. Write, which creates, renames and
// removes, opens its directories as os.Roots again (dirs.go).

// locate returns the directory handle of p and p's last component: in
// Prepare, no handle (dirFD serves), but the same errors t.in returns.
func (t *tree) locate(p string) (*os.Root, string, error) {
	if !t.reading {
		return t.in(p)
	}
	_, err := t.dirFD(path.Dir(p))
	return nil, path.Base(p), err
}

// dirFD returns a descriptor of the directory dir: from readDirs in
// Prepare, else the file of its os.Root handle.
func (t *tree) dirFD(dir string) (int, error) {
	if !t.reading || dir == "." || dir == "" {
		f, err := t.dirFile(dir)
		if err != nil {
			return -1, err
		}
		return int(f.Fd()), nil
	}
	t.mu.Lock()
	fd, ok := t.readDirs[dir]
	t.mu.Unlock()
	if ok {
		return fd, nil
	}
	parent, err := t.dirFD(path.Dir(dir))
	if err != nil {
		return -1, err
	}
	name := path.Base(dir)
	fd, err = unix.Openat(parent, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	switch {
	case err == unix.ELOOP || err == unix.ENOTDIR || err == unix.EMLINK:
		var st unix.Stat_t
		if unix.Fstatat(parent, name, &st, unix.AT_SYMLINK_NOFOLLOW) == nil && st.Mode&unix.S_IFMT == unix.S_IFLNK {
			return -1, &symlinkOnPath{dir: dir}
		}
		return -1, &fs.PathError{Op: "open", Path: dir, Err: syscall.ENOTDIR}
	case err != nil:
		return -1, &fs.PathError{Op: "open", Path: dir, Err: err}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if first, ok := t.readDirs[dir]; ok {
		unix.Close(fd)
		return first, nil
	}
	if t.readDirs == nil {
		t.readDirs = map[string]int{}
	}
	t.readDirs[dir] = fd
	return fd, nil
}

// readlinkIn is dr.Readlink(base) for the symlink p.
func (t *tree) readlinkIn(dr *os.Root, p, base string) (string, error) {
	if !t.reading {
		return dr.Readlink(base)
	}
	dir, err := t.dirFD(path.Dir(p))
	if err != nil {
		return "", err
	}
	buf := make([]byte, 256)
	for {
		n, err := unix.Readlinkat(dir, base, buf)
		if err != nil {
			return "", &fs.PathError{Op: "readlink", Path: p, Err: err}
		}
		if n < len(buf) {
			return string(buf[:n]), nil
		}
		buf = make([]byte, 2*len(buf))
	}
}

func closeFD(fd int) { unix.Close(fd) }
