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
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

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

// changes splits the changed nodes into removals (deepest first) and
// writes (in path order).
func (t *tree) changes() (removals, writes []*node) {
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
	return removals, writes
}

// write performs the changes: removals first (deepest first, then the
// directories they leave empty, as git apply does), then the writes, staged
// beside their files and swapped in together. A file that changed on disk
// since it was read is never overwritten or removed: the write stops with
// ECONFLICT. Every step pushes its undo; on the first failure the undos
// run in reverse.
func (t *tree) write() (err error) {
	removals, writes := t.changes()
	var undo []func() error
	var groups [][]*staged
	defer func() {
		// Undo first: a swapped file's undo needs the old file, which
		// waits under its temporary name until discarded.
		if err != nil {
			err = t.rollback(undo, err)
		}
		parallel(len(groups), func(i int) {
			for _, s := range groups[i] {
				s.discard()
			}
		})
	}()
	if t.opt.beforeWrite != nil {
		t.opt.beforeWrite()
	}
	// Handles opened while reading may lead through a symlink or directory
	// the patch removes: resolve everything again from here on.
	t.resetDirs()
	for _, n := range removals {
		u, err := t.remove(n)
		undo = append(undo, u...)
		if err != nil {
			return err
		}
	}
	t.resetDirs()
	for _, n := range writes {
		if n.origExists {
			continue
		}
		var created []string
		_, err := t.openDir(path.Dir(n.path), &created)
		// Undos run last-first: push outermost first so the deepest goes first.
		for _, d := range created {
			undo = append(undo, func() error { return t.removeDir(d) })
		}
		if err != nil {
			return t.resolveError(n.path, err)
		}
	}
	if groups, err = t.stageAll(writes); err != nil {
		return err
	}
	if t.opt.beforeCommit != nil {
		t.opt.beforeCommit()
	}
	// Check every file before the first swap, so a change anywhere stops
	// the patch before it writes anything; commit checks each once more.
	// An exchange compares the content of a recently modified file after
	// the swap, so it is read once, not twice.
	c := checkCtime
	if !t.exchanges() {
		c |= checkContent
	}
	all := slices.Concat(groups...)
	if err := parallelErr(len(all), func(i int) error {
		if err := all[i].open(); err != nil {
			return err
		}
		return all[i].check(c)
	}); err != nil {
		return err
	}
	err = parallelErr(len(groups), func(i int) error { return commitGroup(groups[i]) })
	for _, s := range all {
		if s.committed {
			undo = append(undo, s.undo)
		}
	}
	return err
}

// commitGroup swaps in the writes of one directory in turn, each staged
// (when not already) in the old file the previous one took out, and
// stops at the first failure.
func commitGroup(group []*staged) error {
	var prev *staged
	for _, s := range group {
		if s.tmp == "" {
			if err := s.restage(prev); err != nil {
				return err
			}
		}
		if err := s.commit(); err != nil {
			return err
		}
		prev = s
	}
	return nil
}

// rollback runs the undos in reverse and returns the error to report: a
// refusal (EINVALID, ECONFLICT) keeps its code when everything was put
// back. The directory
// cache needs no reset here: no handle leads through a symlink, and every
// directory removal forgets its handles.
func (t *tree) rollback(undo []func() error, cause error) error {
	var failed []string
	for i := len(undo) - 1; i >= 0; i-- {
		if uerr := undo[i](); uerr != nil {
			failed = append(failed, uerr.Error())
		}
	}
	if code := factory.ErrorCode(cause); len(failed) == 0 && (code == factory.ECONFLICT || code == factory.EINVALID) {
		return factory.Errorf(code, "%s; what had been written was put back", factory.ErrorMessage(cause))
	}
	msg := "writing the patch failed and every file was restored"
	if len(failed) > 0 {
		msg = "writing the patch failed and restoring failed too (" + strings.Join(failed, "; ") + "); restore the snapshot taken before the patch"
	}
	return &factory.Error{Code: factory.EINTERNAL, Message: msg + ": " + cause.Error(), Op: "apply patch", Err: cause}
}

// resolveError turns a failure to open the directories of p into the
// error to report: EINVALID for a symlink on the way.
func (t *tree) resolveError(p string, err error) error {
	if sl := (*symlinkOnPath)(nil); errors.As(err, &sl) {
		return symlinkRefusal(p, sl)
	}
	return fmt.Errorf("write %s: %w", p, err)
}

// remove moves n's file aside, checks it is still the file that was read,
// removes it and then the directories that leaves empty. It returns the
// undos of what it did.
func (t *tree) remove(n *node) ([]func() error, error) {
	dr, base, err := t.in(n.path)
	if err != nil {
		return nil, t.resolveError(n.path, err)
	}
	aside := tempName("bak")
	if err := dr.Rename(base, aside); err != nil {
		return nil, t.changedOr(n, fmt.Errorf("remove %s: %w", n.path, err))
	}
	if err := t.unchanged(n, dr, aside, checkContent); err != nil {
		if rerr := dr.Rename(aside, base); rerr != nil {
			return nil, fmt.Errorf("%v, and putting it back failed (%v): it is at %s", err, rerr, path.Join(path.Dir(n.path), aside))
		}
		return nil, err
	}
	if err := dr.Remove(aside); err != nil {
		_ = dr.Rename(aside, base)
		return nil, fmt.Errorf("remove %s: %w", n.path, err)
	}
	undo := []func() error{func() error { return t.restore(n) }}
	for d := path.Dir(n.path); d != "."; d = path.Dir(d) {
		pr, name, err := t.in(d)
		if err != nil {
			break
		}
		info, err := pr.Lstat(name)
		if err != nil || !info.IsDir() || pr.Remove(name) != nil {
			break // not empty: it holds other files
		}
		t.forget(d)
		undo = append(undo, func() error {
			pr, name, err := t.in(d)
			if err != nil {
				return err
			}
			return pr.Mkdir(name, info.Mode().Perm())
		})
	}
	return undo, nil
}

// changedOr returns ECONFLICT when n is gone from disk (it was removed or
// renamed while the patch applied), else err.
func (t *tree) changedOr(n *node, err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return changedError(n.path, "it is gone")
	}
	return err
}

// removeDir removes the directory d the patch created (undo).
func (t *tree) removeDir(d string) error {
	t.forget(d)
	pr, name, err := t.in(d)
	if err != nil {
		return err
	}
	return pr.Remove(name)
}

// restore puts a removed n back as it was on disk, modification time
// included (undo). It never replaces a file created there meanwhile.
func (t *tree) restore(n *node) error {
	if _, err := t.openDir(path.Dir(n.path), new([]string)); err != nil {
		return err
	}
	dr, base, err := t.in(n.path)
	if err != nil {
		return err
	}
	tmp, _, err := writeTemp(dr, n.origData, n.origLink, n.origPerm, true)
	if err != nil {
		return fmt.Errorf("restore %s: %w", n.path, err)
	}
	if !n.origLink && n.origInfo != nil {
		if err := dr.Chtimes(tmp, n.origInfo.ModTime(), n.origInfo.ModTime()); err != nil {
			_ = dr.Remove(tmp)
			return fmt.Errorf("restore %s: %w", n.path, err)
		}
	}
	return placeNew(dr, tmp, base, n.path)
}

// tempName is a name for a file staged or set aside next to its target.
func tempName(kind string) string {
	var rnd [8]byte
	_, _ = rand.Read(rnd[:])
	return ".factory-patch-" + hex.EncodeToString(rnd[:]) + "." + kind
}

// writeTemp creates a new file (or symlink) under a temporary name in dr
// and returns the name and what was made.
func writeTemp(dr *os.Root, data []byte, link bool, perm fs.FileMode, exact bool) (string, fs.FileInfo, error) {
	tmp := tempName("tmp")
	if link {
		if err := dr.Symlink(string(data), tmp); err != nil {
			return "", nil, err
		}
		info, err := dr.Lstat(tmp)
		if err != nil {
			_ = dr.Remove(tmp)
		}
		return tmp, info, err
	}
	f, err := dr.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL|openFlags, perm)
	if err != nil {
		return "", nil, err
	}
	_, err = f.Write(data)
	if err == nil && exact && perm&^processUmask() != perm {
		err = f.Chmod(perm)
	}
	var info fs.FileInfo
	if err == nil {
		info, err = f.Stat()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = dr.Remove(tmp)
		return "", nil, err
	}
	return tmp, info, nil
}

// placeNew moves tmp to base, which must not exist: a hard link refuses to
// replace anything, so a file created there meanwhile is kept (ECONFLICT).
// Where hard links are not supported, it checks and renames.
func placeNew(dr *os.Root, tmp, base, p string) error {
	err := dr.Link(tmp, base)
	if err == nil {
		_ = dr.Remove(tmp)
		return nil
	}
	if !errors.Is(err, fs.ErrExist) {
		if _, lerr := dr.Lstat(base); errors.Is(lerr, fs.ErrNotExist) {
			err = dr.Rename(tmp, base)
		}
	}
	if err != nil {
		_ = dr.Remove(tmp)
		if errors.Is(err, fs.ErrExist) {
			return changedError(p, "it was created on disk meanwhile")
		}
		return fmt.Errorf("write %s: %w", p, err)
	}
	return nil
}

// changedError is the ECONFLICT for a file that changed on disk while the
// patch applied.
func changedError(p, what string) error {
	return factory.Errorf(factory.ECONFLICT,
		"%s changed on disk while the patch was being applied (%s); nothing was written: let the other writer finish, read the file again, remake the patch if it no longer applies, and retry", p, what)
}

// racyWindow covers the coarse clock file times come from: a file modified
// this close to (or after) the moment it was read may be modified again
// without its time changing, so its content is compared too.
const racyWindow = 50 * time.Millisecond

// What unchanged compares besides inode, mode, size and modification time.
type checks uint8

const (
	// checkContent compares the content when the time cannot tell: the
	// file was modified this close to the moment it was read.
	checkContent checks = 1 << iota
	// checkCtime compares the change time too, which a program cannot set
	// (a modification time can be put back); only where the name was not
	// moved by the patch, since a rename or exchange sets it.
	checkCtime
)

// unchanged returns ECONFLICT unless name in dr is still the file n was
// read from: same inode, mode, size and modification time, and what c
// asks for.
func (t *tree) unchanged(n *node, dr *os.Root, name string, c checks) error {
	info, err := t.lstatIn(dr, n.path, name)
	o := n.origInfo
	switch {
	case err != nil:
		return changedError(n.path, "it is gone")
	case !sameFile(o, info):
		return changedError(n.path, "another file replaced it")
	case o.Mode() != info.Mode():
		return changedError(n.path, fmt.Sprintf("its mode went from %v to %v", o.Mode(), info.Mode()))
	case o.Size() != info.Size():
		return changedError(n.path, fmt.Sprintf("its size went from %d to %d bytes", o.Size(), info.Size()))
	case !o.ModTime().Equal(info.ModTime()):
		return changedError(n.path, "it was modified")
	case c&checkCtime != 0 && !sameChangeTime(o, info):
		return changedError(n.path, "it was modified and its modification time put back")
	}
	if c&checkContent != 0 && !n.origLink && !o.ModTime().Before(t.readStart.Add(-racyWindow)) {
		if data, err := t.readRegular(dr, path.Join(path.Dir(n.path), name), info.Size()); err != nil || !bytes.Equal(data, n.origData) {
			return changedError(n.path, "its content changed")
		}
	}
	return nil
}

// exchanges reports whether swaps exchange the two names.
func (t *tree) exchanges() bool { return !t.opt.noExchange && !t.noExchange.Load() }

// parallelErr runs fn like parallel and returns the error of the lowest
// index, if any.
func parallelErr(n int, fn func(int) error) error {
	errs := make([]error, n)
	parallel(n, func(i int) { errs[i] = fn(i) })
	return firstError(errs)
}

func firstError(errs []error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
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
