package gitstore

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// dirHandle is a directory the capture walk lists and stats in: on
// Windows its path, as there is no openat; a rename under the walk can
// redirect it, which the walk's final re-check of the index catches as on
// any change during a capture.
type dirHandle = string

// topDir is the handle a walk's top (an absolute path) is opened from.
const topDir dirHandle = ""

// keyOf identifies one version of a file by size and modification time;
// Windows' stat has no inode or change time.
func keyOf(fi fs.FileInfo) fileKey {
	return fileKey{size: fi.Size(), mtime: fi.ModTime().UnixNano()}
}

// lstatAt is name's lstat in dir, as the index sees it, and its size.
// git for Windows records no executable bit from the file system
// (core.filemode false), so a regular file is 0100644.
func lstatAt(dir dirHandle, name string) (statInfo, int64, error) {
	fi, err := os.Lstat(filepath.Join(dir, name))
	if err != nil {
		return statInfo{}, 0, err
	}
	st := statInfo{mtime: fi.ModTime().UnixNano(), size: uint32(fi.Size())}
	switch m := fi.Mode(); {
	case m.IsRegular():
		st.mode = 0o100644
	case m&fs.ModeSymlink != 0:
		st.mode = 0o120000
	case m.IsDir():
		st.mode = 0o040000
	}
	return st, fi.Size(), nil
}

// vanished reports whether err says the file is gone during the walk.
func vanished(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)
}

// openDir lists name in parent (an absolute name from topDir).
func openDir(parent dirHandle, name string) (dirHandle, []dirent, error) {
	dir := filepath.Join(parent, name)
	des, err := os.ReadDir(dir)
	if err != nil {
		return "", nil, err
	}
	ents := direntsOf(des)
	return dir, ents, nil
}

func closeDir(dirHandle) {}

// readFileAt reads name in dir, refusing a symlink as O_NOFOLLOW does on
// unix.
func readFileAt(dir dirHandle, name string) ([]byte, error) {
	p := filepath.Join(dir, name)
	if fi, err := os.Lstat(p); err != nil {
		return nil, err
	} else if fi.Mode()&fs.ModeSymlink != 0 {
		return nil, &fs.PathError{Op: "open", Path: p, Err: errors.New("is a symlink")}
	}
	return os.ReadFile(p)
}

// hasXattr: overlay capture (the only reader of xattrs) is Linux's.
func hasXattr(string, string) bool { return false }

func hasXattrValue(string, string, string) bool { return false }
