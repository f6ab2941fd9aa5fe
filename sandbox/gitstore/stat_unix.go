//go:build unix

package gitstore

import (
	"errors"
	"io/fs"
	"syscall"

	"golang.org/x/sys/unix"
)

// dirHandle is an open directory the capture walk lists and stats in: a
// descriptor, so that a rename under the walk cannot redirect it.
type dirHandle = int

// topDir is the handle a walk's top (an absolute path) is opened from.
const topDir dirHandle = unix.AT_FDCWD

func keyOf(fi fs.FileInfo) fileKey {
	k := fileKey{size: fi.Size(), mtime: fi.ModTime().UnixNano()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		k.ino = st.Ino
		k.ctime = statCtime(st)
	}
	return k
}

// statOfSys converts a raw lstat result to the index's view of it.
func statOfSys(st *unix.Stat_t) statInfo {
	s := statInfo{
		mtime: st.Mtim.Sec*1e9 + st.Mtim.Nsec,
		ctime: st.Ctim.Sec*1e9 + st.Ctim.Nsec,
		ino:   uint32(st.Ino),
		uid:   st.Uid,
		gid:   st.Gid,
		size:  uint32(st.Size),
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFREG:
		s.mode = 0o100644
		if st.Mode&0o100 != 0 {
			s.mode = 0o100755
		}
	case unix.S_IFLNK:
		s.mode = 0o120000
	case unix.S_IFDIR:
		s.mode = 0o040000
	}
	return s
}

// lstatAt is name's lstat in dirfd, as the index sees it, and its size.
func lstatAt(dirfd dirHandle, name string) (statInfo, int64, error) {
	var st unix.Stat_t
	for {
		err := unix.Fstatat(dirfd, name, &st, unix.AT_SYMLINK_NOFOLLOW)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return statInfo{}, 0, err
		}
		return statOfSys(&st), st.Size, nil
	}
}

// vanished reports whether err says the file is gone (or a parent is no
// longer a directory): removed during the walk.
func vanished(err error) bool {
	return errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR)
}
