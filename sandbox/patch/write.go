package patch

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/factory-dev/factory"
)

// changed reports whether the patch leaves n different from the disk.
func (n *node) changed() bool {
	if !n.touched {
		return false
	}
	if n.exists != n.origExists {
		return true
	}
	if !n.exists {
		return false
	}
	return n.link != n.origLink || !bytes.Equal(n.data, n.origData) || (!n.link && n.exactPerm && n.perm != n.origPerm)
}

// write performs the changes: removals first (deepest first, then the
// directories they leave empty, as git apply does), then writes in path
// order. Every step pushes its undo; on the first failure the undos run in
// reverse and the error is returned.
func (t *tree) write() (err error) {
	var removals, writes []*node
	for _, p := range t.order {
		n := t.nodes[p]
		switch {
		case !n.changed():
		case !n.exists:
			removals = append(removals, n)
		default:
			writes = append(writes, n)
		}
	}
	sort.Slice(removals, func(i, j int) bool {
		di, dj := strings.Count(removals[i].path, "/"), strings.Count(removals[j].path, "/")
		if di != dj {
			return di > dj
		}
		return removals[i].path < removals[j].path
	})
	sort.Slice(writes, func(i, j int) bool { return writes[i].path < writes[j].path })

	var undo []func() error
	defer func() {
		if err == nil {
			return
		}
		var failed []string
		for i := len(undo) - 1; i >= 0; i-- {
			if uerr := undo[i](); uerr != nil {
				failed = append(failed, uerr.Error())
			}
		}
		msg := "writing the patch failed and every file was restored"
		if len(failed) > 0 {
			msg = "writing the patch failed and restoring failed too (" + strings.Join(failed, "; ") + "); restore the snapshot taken before the patch"
		}
		err = &factory.Error{Code: factory.EINTERNAL, Message: msg + ": " + err.Error(), Op: "apply patch", Err: err}
	}()

	for _, n := range removals {
		dr, base, err := t.in(n.path)
		if err != nil {
			return err
		}
		if err := dr.Remove(base); err != nil {
			return fmt.Errorf("remove %s: %w", n.path, err)
		}
		undo = append(undo, func() error { return t.restore(n) })
		for d := path.Dir(n.path); d != "."; d = path.Dir(d) {
			info, serr := t.root.Lstat(d)
			if serr != nil || t.root.Remove(d) != nil {
				break
			}
			t.forget(d)
			undo = append(undo, func() error { return t.root.Mkdir(d, info.Mode().Perm()) })
		}
	}
	for _, n := range writes {
		if n.origExists {
			continue
		}
		created, err := t.mkdirs(path.Dir(n.path))
		// Undos run last-first: push outermost first so the deepest goes first.
		for _, d := range created {
			undo = append(undo, func() error { t.forget(d); return t.root.Remove(d) })
		}
		if err != nil {
			return err
		}
	}
	errs := make([]error, len(writes))
	parallel(len(writes), func(i int) {
		n := writes[i]
		errs[i] = t.replace(n.path, n.data, n.link, n.perm, n.exactPerm)
	})
	var first error
	for i, n := range writes {
		if errs[i] == nil {
			undo = append(undo, func() error { return t.restore(n) })
		} else if first == nil {
			first = errs[i]
		}
	}
	return first
}

// mkdirs creates dir and its missing parents, returning those it created
// (outermost first).
func (t *tree) mkdirs(dir string) ([]string, error) {
	if dir == "." {
		return nil, nil
	}
	var missing []string
	for d := dir; d != "."; d = path.Dir(d) {
		if _, err := t.root.Lstat(d); err == nil {
			break
		}
		missing = append(missing, d)
	}
	var created []string
	for i := len(missing) - 1; i >= 0; i-- {
		if err := t.root.Mkdir(missing[i], 0o777); err != nil && !errors.Is(err, fs.ErrExist) {
			return created, fmt.Errorf("create directory %s: %w", missing[i], err)
		}
		created = append(created, missing[i])
	}
	return created, nil
}

// testHookReplace, set by tests only, can fail the replacement of a path
// to exercise the rollback.
var testHookReplace func(path string) error

// replace atomically puts a file or symlink at p: it is made under a
// temporary name in the same directory, then renamed over p.
func (t *tree) replace(p string, data []byte, link bool, perm fs.FileMode, exact bool) error {
	if testHookReplace != nil {
		if err := testHookReplace(p); err != nil {
			return err
		}
	}
	var rnd [8]byte
	_, _ = rand.Read(rnd[:])
	tmp := ".factory-patch-" + hex.EncodeToString(rnd[:]) + ".tmp"
	dr, base, err := t.in(p)
	if err != nil {
		return err
	}
	if link {
		if err := dr.Symlink(string(data), tmp); err != nil {
			return fmt.Errorf("create symlink %s: %w", p, err)
		}
	} else {
		f, err := dr.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
		if err != nil {
			return fmt.Errorf("write %s: %w", p, err)
		}
		_, err = f.Write(data)
		if err == nil && exact && perm&^processUmask() != perm {
			err = f.Chmod(perm)
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			_ = dr.Remove(tmp)
			return fmt.Errorf("write %s: %w", p, err)
		}
	}
	if err := dr.Rename(tmp, base); err != nil {
		_ = dr.Remove(tmp)
		return fmt.Errorf("rename into %s: %w", p, err)
	}
	return nil
}

// restore puts n back as it was on disk, modification time included.
func (t *tree) restore(n *node) error {
	if !n.origExists {
		dr, base, err := t.in(n.path)
		if err == nil {
			err = dr.Remove(base)
		}
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return err
	}
	if _, err := t.mkdirs(path.Dir(n.path)); err != nil {
		return err
	}
	if err := t.replace(n.path, n.origData, n.origLink, n.origPerm, true); err != nil {
		return err
	}
	if !n.origLink && n.origInfo != nil {
		return t.root.Chtimes(n.path, n.origInfo.ModTime(), n.origInfo.ModTime())
	}
	return nil
}

// in returns the opened directory holding p and p's last component. The
// directory was checked to be no symlink before (checkAncestors), and
// os.Root confines every later operation to it.
func (t *tree) in(p string) (*os.Root, string, error) {
	dir, base := path.Split(p)
	dir = strings.TrimSuffix(dir, "/")
	if dir == "" {
		return t.root, base, nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if r, ok := t.dirs[dir]; ok {
		return r, base, nil
	}
	r, err := t.root.OpenRoot(dir)
	if err != nil {
		return nil, "", fmt.Errorf("open directory %s: %w", dir, err)
	}
	if t.dirs == nil {
		t.dirs = map[string]*os.Root{}
	}
	t.dirs[dir] = r
	return r, base, nil
}

// forget closes the opened directories at or under d (d was removed).
func (t *tree) forget(d string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for k, r := range t.dirs {
		if k == d || strings.HasPrefix(k, d+"/") {
			r.Close()
			delete(t.dirs, k)
		}
	}
}

// close closes every opened directory.
func (t *tree) close() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for k, r := range t.dirs {
		r.Close()
		delete(t.dirs, k)
	}
}

var (
	umaskOnce sync.Once
	umask     fs.FileMode
)

// processUmask reads the umask from /proc/self/status (reading it with
// umask(2) would change it for every goroutine). Unknown means "all bits",
// so callers always chmod.
func processUmask() fs.FileMode {
	umaskOnce.Do(func() {
		umask = 0o777
		b, err := os.ReadFile("/proc/self/status")
		if err != nil {
			return
		}
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "Umask:"); ok {
				if n, err := strconv.ParseUint(strings.TrimSpace(v), 8, 32); err == nil {
					umask = fs.FileMode(n)
				}
			}
		}
	})
	return umask
}
