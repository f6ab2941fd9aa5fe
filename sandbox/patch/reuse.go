package patch

import (
	"errors"
	"io/fs"
	"os"
)

// errNotReusable says a file taken out by an exchange may not hold the
// next write of its directory: a new file is made instead.
var errNotReusable = errors.New("the file taken out cannot be reused")

// reuse opens for writing the file name in dr, which an exchange took out
// of the tree and checked to be want, the file the patch read, when that
// file may hold another write: it is still that very file (not a file or
// link put under its name since), a regular file with no other name (a
// hard link elsewhere, in .git or outside the workspace, would see the
// write), owned by this process's user and group like a new file (owner,
// read once per patch: two system calls per file otherwise), with no
// extended attribute (an access list would carry over to the new content),
// and open nowhere else: a program that held the old file open (an editor,
// a logger) would otherwise write, later, into another file's content.
func reuse(dr *os.Root, name string, want fs.FileInfo, owner [2]int) (*os.File, int64, error) {
	f, err := dr.OpenFile(name, os.O_WRONLY|noFollow|openFlags, 0)
	if err != nil {
		return nil, 0, errNotReusable
	}
	info, err := f.Stat()
	if err != nil || !info.Mode().IsRegular() || !os.SameFile(info, want) || !soleOwnFile(info, owner[0], owner[1]) || !unshared(f) {
		f.Close()
		return nil, 0, errNotReusable
	}
	return f, info.Size(), nil
}

// rewrite makes f, of size size, hold data with the mode a new file would
// get, closes it and returns what it made. The data is written over the
// old bytes and the file then cut to its length if it was longer, never
// truncated to zero first: ext4 writes a file truncated to zero out on
// close (auto_da_alloc), as it does on a rename over a file; and a
// truncation costs a journalled orphan entry, so it is skipped when the
// data covers the old bytes.
func rewrite(f *os.File, size int64, data []byte, perm fs.FileMode, exact bool) (fs.FileInfo, error) {
	_, err := f.WriteAt(data, 0)
	if err == nil && size > int64(len(data)) {
		err = f.Truncate(int64(len(data)))
	}
	want := perm
	if !exact {
		want = perm &^ processUmask()
	}
	var info fs.FileInfo
	if err == nil {
		info, err = f.Stat()
	}
	if err == nil && info.Mode() != want {
		if err = f.Chmod(want); err == nil {
			info, err = f.Stat()
		}
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return info, err
}

// asMade returns ECONFLICT unless name in dr is still the file rewrite
// made: a program that held the reused file open, or opened it by its
// temporary name, may have written to it since.
func (s *staged) asMade() error {
	info, err := s.dir.Lstat(s.tmp)
	if err != nil || !os.SameFile(info, s.made) || info.Size() != s.made.Size() ||
		!info.ModTime().Equal(s.made.ModTime()) || !sameChangeTime(info, s.made) {
		return changedError(s.n.path, "the file staged for it was written to by another program")
	}
	return nil
}
