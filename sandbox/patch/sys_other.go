//go:build !linux

package patch

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path"
)

// openFlags are added to every open of a file: none here.
const openFlags = 0

// exchange is Linux's renameat2(RENAME_EXCHANGE); elsewhere files are
// checked and replaced with a rename.
func exchange(dir *os.File, tmp, base string) error { return errNoExchange }

// sameChangeTime is true: the change time is compared on Linux only.
func sameChangeTime(a, b os.FileInfo) bool { return true }

// heldFile is never made here: files are reused only where they are
// exchanged.
type heldFile struct{ made fs.FileInfo }

// reuse refuses: files are reused only where they are exchanged.
func reuse(dir *os.File, name string, want fs.FileInfo, owner [2]int) (*heldFile, int64, error) {
	return nil, 0, errNotReusable
}

func (h *heldFile) rewrite(size int64, data []byte, perm fs.FileMode, exact bool) error {
	return errNotReusable
}

func (h *heldFile) close() {}

// sameFile is os.SameFile.
func sameFile(a, b fs.FileInfo) bool { return os.SameFile(a, b) }

// readRegular reads the regular file p, in dr, which its lstat said holds
// size bytes.
func (t *tree) readRegular(dr *os.Root, p string, size int64) ([]byte, error) {
	return readFile(dr, path.Base(p), size)
}

// lstatIn is dr.Lstat(name), for name in the directory of the path p.
func (t *tree) lstatIn(dr *os.Root, p, name string) (fs.FileInfo, error) {
	return dr.Lstat(name)
}

// locate is t.in: Prepare reads through os.Root handles here.
func (t *tree) locate(p string) (*os.Root, string, error) { return t.in(p) }

// readlinkIn is dr.Readlink(base).
func (t *tree) readlinkIn(dr *os.Root, p, base string) (string, error) { return dr.Readlink(base) }

// closeFD is never called: readDirs stays empty here.
func closeFD(fd int) {}

// readFile reads the regular file name in dr, which its lstat said holds
// size bytes: in one read when it still does (open, read, close, where
// os.ReadFile adds a stat and a read to find the end). A file that grew
// meanwhile was read short, but it no longer matches the lstat, and the
// checks before and after the swap refuse it.
func readFile(dr *os.Root, name string, size int64) ([]byte, error) {
	f, err := dr.OpenFile(name, os.O_RDONLY|openFlags, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data := make([]byte, size+1)
	n, err := f.Read(data)
	if err == nil && int64(n) == size {
		return data[:n], nil
	}
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	rest, err := io.ReadAll(f)
	return append(data[:n], rest...), err
}
