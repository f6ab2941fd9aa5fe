package txn

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/factory-dev/factory"
	"github.com/factory-dev/factory/sandbox/gitstore"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
)

// Op is one path to change in the tree: write To (with Data, the file
// content or the symlink target), or delete the path when To is nil.
type Op struct {
	Path string
	To   *gitstore.Entry
	Data []byte
	// ModeOnly says the content on disk is already right and only the
	// executable bit changes.
	ModeOnly bool
	// Cur is what the snapshot taken just before says is on disk at Path
	// (nil: nothing, or an ignored file). The transaction refuses to start
	// when the disk no longer holds it: a write made meanwhile would be
	// lost to the undo snapshot.
	Cur *gitstore.Entry
}

// Options are for tests; the zero value is what callers pass.
type Options struct {
	// Hook is called before each write or delete; an error fails that
	// step, and the transaction rolls back.
	Hook func(op, path string) error
}

// undoStep reverts one step of a transaction.
type undoStep func() error

// txn is one transaction under way: what it wrote and deleted, and the
// steps that undo it.
type txn struct {
	root    *os.Root
	hook    func(op, path string) error // Options.Hook
	bakDir  string                      // relative to root
	bakN    int
	undo    []undoStep
	written []string
	deleted []string
}

// backupDirFor picks where a transaction keeps its backups: inside the git
// dir when it lies within the working tree (invisible to snapshots), else a
// hidden directory at the top of the tree.
func backupDirFor(rootDir, gitDir string) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	name := "factory-txn-" + hex.EncodeToString(b[:])
	if rel, err := filepath.Rel(rootDir, gitDir); err == nil && !strings.HasPrefix(rel, "..") && isDir(gitDir) {
		return filepath.ToSlash(filepath.Join(rel, name))
	}
	return "." + name
}

func isDir(dir string) bool {
	st, err := os.Stat(dir)
	return err == nil && st.IsDir()
}

// Apply writes ops into the tree at rootDir as one transaction, keeping
// its backups inside gitDir when that lies within the tree, and returns
// the paths it wrote and those it deleted. On error the tree is put back as
// it was and the error says what failed.
func Apply(ctx context.Context, rootDir, gitDir string, ops []Op, opt Options) (written, deleted []string, err error) {
	root, err := os.OpenRoot(rootDir)
	if err != nil {
		return nil, nil, factory.Wrap("open workspace root", err)
	}
	defer root.Close()
	if err := precheck(root, ops); err != nil {
		return nil, nil, err
	}
	t := &txn{root: root, hook: opt.Hook, bakDir: backupDirFor(rootDir, gitDir)}
	if err := root.MkdirAll(t.bakDir, 0o700); err != nil {
		return nil, nil, factory.Wrap("make backup directory", err)
	}
	defer root.RemoveAll(t.bakDir)

	if err := t.run(ctx, ops); err != nil {
		if rerr := t.rollback(); rerr != nil {
			return nil, nil, factory.Errorf(factory.EINTERNAL,
				"write failed (%v) and putting the tree back also failed (%v); the backups are kept in %s", err, rerr, t.bakDir)
		}
		return nil, nil, err
	}
	return t.written, t.deleted, nil
}

// precheck refuses, before anything is written, ops that would have to
// remove a file no op deletes: an ignored file standing where a written
// path needs a directory, or inside a directory standing where a written
// path needs a file. Ignored files are in no snapshot, so removing one
// could not be undone.
func precheck(root *os.Root, ops []Op) error {
	dels := map[string]bool{}
	for _, op := range ops {
		if op.To == nil {
			dels[op.Path] = true
		}
	}
	inTheWay := func(p, blocker string) error {
		return factory.Errorf(factory.ECONFLICT,
			"cannot write %s: %s is in the way and is in no snapshot (ignored); move it away and retry", p, blocker)
	}
	for _, op := range ops {
		if err := checkCurrent(root, op); err != nil {
			return err
		}
	}
	for _, op := range ops {
		if op.To == nil || op.ModeOnly {
			continue
		}
		parts := strings.Split(op.Path, "/")
		parentsClear := true
	parents:
		for i := 1; i < len(parts); i++ {
			d := strings.Join(parts[:i], "/")
			st, err := root.Lstat(d)
			switch {
			case errors.Is(err, fs.ErrNotExist):
				parentsClear = false
				break parents
			case err != nil:
				return factory.Wrap("write "+op.Path, err)
			case st.IsDir():
				continue
			case dels[d]:
				parentsClear = false
				break parents
			default:
				return inTheWay(op.Path, d)
			}
		}
		if !parentsClear {
			continue // the path itself cannot exist yet
		}
		st, err := root.Lstat(op.Path)
		if err != nil || !st.IsDir() {
			continue
		}
		var blocker string
		_ = fs.WalkDir(root.FS(), op.Path, func(p string, d fs.DirEntry, err error) error {
			if err != nil || blocker != "" {
				return fs.SkipAll
			}
			if !d.IsDir() && !dels[p] {
				blocker = p
				return fs.SkipAll
			}
			return nil
		})
		if blocker != "" {
			return inTheWay(op.Path, blocker)
		}
	}
	return nil
}

// checkCurrent verifies that the disk still holds op.Cur at op.Path.
func checkCurrent(root *os.Root, op Op) error {
	if op.Cur == nil || op.Cur.Mode == filemode.Submodule {
		return nil
	}
	moved := factory.Errorf(factory.ECONFLICT,
		"%s changed on disk while this ran (after the undo snapshot was taken); nothing was written, retry", op.Path)
	st, err := root.Lstat(op.Path)
	if err != nil {
		return moved
	}
	var data []byte
	switch {
	case st.Mode()&fs.ModeSymlink != 0:
		if op.Cur.Mode != filemode.Symlink {
			return moved
		}
		l, err := root.Readlink(op.Path)
		if err != nil {
			return moved
		}
		data = []byte(l)
	case st.Mode().IsRegular():
		exec := st.Mode()&0o100 != 0
		if !op.Cur.IsFile() || exec != (op.Cur.Mode == filemode.Executable) {
			return moved
		}
		if data, err = root.ReadFile(op.Path); err != nil {
			return moved
		}
	default:
		return moved
	}
	if plumbing.ComputeHash(plumbing.BlobObject, data) != op.Cur.Hash {
		return moved
	}
	return nil
}

func (t *txn) run(ctx context.Context, ops []Op) error {
	var dels, writes []Op
	for _, op := range ops {
		if op.To == nil {
			dels = append(dels, op)
		} else {
			writes = append(writes, op)
		}
	}
	// Deepest first, so a directory's files go before the directory.
	sort.Slice(dels, func(i, j int) bool { return dels[i].Path > dels[j].Path })
	sort.Slice(writes, func(i, j int) bool { return writes[i].Path < writes[j].Path })

	emptied := map[string]bool{}
	for _, op := range dels {
		if err := ctx.Err(); err != nil {
			return err
		}
		done, err := t.remove(op.Path)
		if err != nil {
			return err
		}
		if done {
			t.deleted = append(t.deleted, op.Path)
			for d := path.Dir(op.Path); d != "."; d = path.Dir(d) {
				emptied[d] = true
			}
		}
	}
	// Remove directories the deletions emptied, deepest first (as git
	// does); one still holding ignored files stays.
	dirs := make([]string, 0, len(emptied))
	for d := range emptied {
		dirs = append(dirs, d)
	}
	sort.Slice(dirs, func(i, j int) bool { return dirs[i] > dirs[j] })
	for _, d := range dirs {
		t.removeEmptyDir(d)
	}
	for _, op := range writes {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := t.write(op); err != nil {
			return err
		}
		t.written = append(t.written, op.Path)
	}
	return nil
}

func (t *txn) backupName() string {
	t.bakN++
	return fmt.Sprintf("%s/%d", t.bakDir, t.bakN)
}

// remove moves p into the backup directory. A path already absent is not
// an error (done is false).
func (t *txn) remove(p string) (done bool, err error) {
	if t.hook != nil {
		if err := t.hook("delete", p); err != nil {
			return false, err
		}
	}
	st, err := t.root.Lstat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, factory.Wrap("delete "+p, err)
	}
	if st.IsDir() {
		return false, factory.Errorf(factory.ECONFLICT, "delete %s: it is a directory on disk, not a file", p)
	}
	bak := t.backupName()
	if err := t.root.Rename(p, bak); err != nil {
		return false, factory.Wrap("delete "+p, err)
	}
	t.undo = append(t.undo, func() error { return t.root.Rename(bak, p) })
	return true, nil
}

func (t *txn) removeEmptyDir(d string) {
	st, err := t.root.Lstat(d)
	if err != nil || !st.IsDir() {
		return
	}
	if err := t.root.Remove(d); err != nil {
		return // not empty: it holds ignored files or other directories
	}
	perm := st.Mode().Perm()
	t.undo = append(t.undo, func() error { return t.root.Mkdir(d, perm) })
}

// mkdirs makes the parent directories of p, recording each one made. A
// parent that exists as a file or symlink is a conflict: the deletions
// would have moved it away had the target lacked it.
func (t *txn) mkdirs(p string) error {
	parts := strings.Split(p, "/")
	for i := 1; i < len(parts); i++ {
		d := strings.Join(parts[:i], "/")
		st, err := t.root.Lstat(d)
		if err == nil {
			if st.IsDir() {
				continue
			}
			return factory.Errorf(factory.ECONFLICT,
				"write %s: %s is a file on disk (ignored, so not part of any snapshot); move it away and retry", p, d)
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return factory.Wrap("write "+p, err)
		}
		if err := t.root.Mkdir(d, 0o755); err != nil {
			return factory.Wrap("write "+p, err)
		}
		t.undo = append(t.undo, func() error { return t.root.Remove(d) })
	}
	return nil
}

func (t *txn) write(op Op) error {
	if t.hook != nil {
		if err := t.hook("write", op.Path); err != nil {
			return err
		}
	}
	p := op.Path
	if op.ModeOnly {
		st, err := t.root.Lstat(p)
		if err != nil {
			return factory.Wrap("chmod "+p, err)
		}
		old := st.Mode().Perm()
		if err := t.root.Chmod(p, execPerm(old, op.To.Mode)); err != nil {
			return factory.Wrap("chmod "+p, err)
		}
		t.undo = append(t.undo, func() error { return t.root.Chmod(p, old) })
		return nil
	}
	if err := t.mkdirs(p); err != nil {
		return err
	}
	// Stage the new entry beside its final place, then swap it in.
	tmp := path.Join(path.Dir(p), ".factory-tmp-"+path.Base(t.backupName()))
	if op.To.Mode == filemode.Symlink {
		if err := t.root.Symlink(string(op.Data), tmp); err != nil {
			return factory.Wrap("write "+p, err)
		}
	} else {
		perm := os.FileMode(0o666)
		if op.To.Mode == filemode.Executable {
			perm = 0o777
		}
		if err := t.writeFile(tmp, op.Data, perm); err != nil {
			_ = t.root.Remove(tmp)
			return factory.Wrap("write "+p, err)
		}
	}
	st, err := t.root.Lstat(p)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := t.root.Rename(tmp, p); err != nil {
			_ = t.root.Remove(tmp)
			return factory.Wrap("write "+p, err)
		}
		t.undo = append(t.undo, func() error { return t.root.Remove(p) })
		return nil
	case err != nil:
		_ = t.root.Remove(tmp)
		return factory.Wrap("write "+p, err)
	case st.IsDir():
		// Directories left empty (git does not see them) give way; one
		// holding any file (ignored, so in no snapshot) does not.
		if err := t.removeEmptyTree(p); err != nil {
			_ = t.root.Remove(tmp)
			return err
		}
		if err := t.root.Rename(tmp, p); err != nil {
			_ = t.root.Remove(tmp)
			return factory.Wrap("write "+p, err)
		}
		t.undo = append(t.undo, func() error { return t.root.Remove(p) })
		return nil
	}
	// Keep the old entry (hard link, same inode and mtime) and replace it
	// atomically; fall back to moving it when links are not possible.
	bak := t.backupName()
	if err := t.root.Link(p, bak); err != nil {
		if err := t.root.Rename(p, bak); err != nil {
			_ = t.root.Remove(tmp)
			return factory.Wrap("write "+p, err)
		}
	}
	if err := t.root.Rename(tmp, p); err != nil {
		_ = t.root.Remove(tmp)
		_ = t.root.Rename(bak, p)
		return factory.Wrap("write "+p, err)
	}
	t.undo = append(t.undo, func() error { return t.root.Rename(bak, p) })
	return nil
}

// removeEmptyTree removes directory d when it holds nothing but (empty)
// directories, recording each removal for the rollback.
func (t *txn) removeEmptyTree(d string) error {
	f, err := t.root.Open(d)
	if err != nil {
		return factory.Wrap("write "+d, err)
	}
	ents, err := f.ReadDir(-1)
	f.Close()
	if err != nil {
		return factory.Wrap("write "+d, err)
	}
	for _, e := range ents {
		if !e.IsDir() {
			return factory.Errorf(factory.ECONFLICT,
				"write %s: a directory holding files outside the snapshot (ignored ones, such as %s) is in the way; move them away and retry",
				d, path.Join(d, e.Name()))
		}
		if err := t.removeEmptyTree(path.Join(d, e.Name())); err != nil {
			return err
		}
	}
	st, err := t.root.Lstat(d)
	if err != nil {
		return factory.Wrap("write "+d, err)
	}
	if err := t.root.Remove(d); err != nil {
		return factory.Wrap("write "+d, err)
	}
	perm := st.Mode().Perm()
	t.undo = append(t.undo, func() error { return t.root.Mkdir(d, perm) })
	return nil
}

func (t *txn) writeFile(name string, data []byte, perm os.FileMode) error {
	f, err := t.root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// execPerm turns the executable bits on or off as mode says, the way git
// does on checkout (x wherever r is).
func execPerm(old os.FileMode, mode filemode.FileMode) os.FileMode {
	if mode == filemode.Executable {
		return old | (old&0o444)>>2
	}
	return old &^ 0o111
}

func (t *txn) rollback() error {
	var errs []error
	for i := len(t.undo) - 1; i >= 0; i-- {
		if err := t.undo[i](); err != nil {
			errs = append(errs, err)
		}
	}
	t.undo = nil
	return errors.Join(errs...)
}
