package patch

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strings"
	"syscall"

	"github.com/factory-dev/factory"
)

// Every file operation of the engine happens in a directory handle opened
// by walking the path from the root one component at a time, refusing any
// component that is a symlink (os.Root alone would follow a symlink that
// stays inside the root, say gh -> .git/hooks). Handles are cached, and the
// cache is emptied whenever the patch is about to change which directories
// exist (before its removals, before its writes, before a rollback): a
// handle opened before the patch removed a symlink or a directory must
// never be used after.

// symlinkOnPath says a directory on the way to a path is a symlink.
type symlinkOnPath struct{ dir string }

func (e *symlinkOnPath) Error() string {
	return fmt.Sprintf("%s is a symlink, not a directory", e.dir)
}

// symlinkRefusal is the EINVALID error for p reached through the symlink
// named in err.
func symlinkRefusal(p string, err *symlinkOnPath) error {
	return factory.Errorf(factory.EINVALID,
		"path %q goes through %q, which is a symlink on disk; nothing was written: patch the real path the symlink points to instead",
		p, err.dir)
}

// in returns the directory holding p, opened without following symlinks,
// and p's last component.
func (t *tree) in(p string) (*os.Root, string, error) {
	dir, base := path.Split(p)
	r, err := t.openDir(strings.TrimSuffix(dir, "/"), nil)
	return r, base, err
}

// openDir returns dir ("" or "." for the root) opened as described above.
// With created non-nil, missing directories are made and appended to it
// (outermost first).
func (t *tree) openDir(dir string, created *[]string) (*os.Root, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.openDirLocked(dir, created)
}

func (t *tree) openDirLocked(dir string, created *[]string) (*os.Root, error) {
	if dir == "" || dir == "." {
		return t.root, nil
	}
	if r, ok := t.dirs[dir]; ok {
		return r, nil
	}
	parent, err := t.openDirLocked(path.Dir(dir), created)
	if err != nil {
		return nil, err
	}
	name := path.Base(dir)
	info, err := parent.Lstat(name)
	if created != nil && errors.Is(err, fs.ErrNotExist) {
		if err := parent.Mkdir(name, 0o777); err != nil && !errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("create directory %s: %w", dir, err)
		} else if err == nil {
			*created = append(*created, dir)
		}
		info, err = parent.Lstat(name)
	}
	switch {
	case err != nil:
		return nil, err
	case info.Mode()&fs.ModeSymlink != 0:
		return nil, &symlinkOnPath{dir: dir}
	case !info.IsDir():
		return nil, &fs.PathError{Op: "open", Path: dir, Err: syscall.ENOTDIR}
	}
	r, err := parent.OpenRoot(name)
	if err != nil {
		return nil, fmt.Errorf("open directory %s: %w", dir, err)
	}
	// The name could have become a symlink between the Lstat and the open:
	// the handle must be the very directory that was checked.
	if st, err := r.Stat("."); err != nil || !os.SameFile(st, info) {
		r.Close()
		return nil, fmt.Errorf("open directory %s: it changed while it was opened; retry", dir)
	}
	if t.dirs == nil {
		t.dirs = map[string]*os.Root{}
	}
	t.dirs[dir] = r
	return r, nil
}

// dirFile returns the directory dir as an open file, for the system calls
// os.Root does not offer (exchange): the directory opened through its
// cached handle, so it is the very directory that handle checked.
func (t *tree) dirFile(dir string) (*os.File, error) {
	r, err := t.openDir(dir, nil)
	if err != nil {
		return nil, err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if f, ok := t.dirFiles[dir]; ok {
		return f, nil
	}
	f, err := r.OpenFile(".", os.O_RDONLY|openFlags, 0)
	if err != nil {
		return nil, fmt.Errorf("open directory %s: %w", dir, err)
	}
	if t.dirFiles == nil {
		t.dirFiles = map[string]*os.File{}
	}
	t.dirFiles[dir] = f
	return f, nil
}

// resetDirs closes every cached directory handle.
func (t *tree) resetDirs() {
	t.forgetIf(func(string) bool { return true })
}

// forget closes the cached handles at or under d (d was removed).
func (t *tree) forget(d string) {
	t.forgetIf(func(k string) bool { return k == d || strings.HasPrefix(k, d+"/") })
}

func (t *tree) forgetIf(match func(dir string) bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for k, r := range t.dirs {
		if match(k) {
			r.Close()
			delete(t.dirs, k)
		}
	}
	for k, f := range t.dirFiles {
		if match(k) {
			f.Close()
			delete(t.dirFiles, k)
		}
	}
	for k, fd := range t.readDirs {
		if match(k) {
			closeFD(fd)
			delete(t.readDirs, k)
		}
	}
}
