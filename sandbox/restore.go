package sandbox

import (
	"context"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/factory-dev/factory"
	"github.com/factory-dev/factory/sandbox/gitstore"
	"github.com/factory-dev/factory/sandbox/txn"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
)

// Restore puts the live tree (or only paths, files or directories relative
// to the root) back to snapshot id. It snapshots the current state first and
// returns that snapshot as Undo, so a restore can itself be restored. Only
// files that differ are written (content, executable bit, symlink); files
// the target lacks are deleted, but never ignored files, and directories are
// removed only when that leaves them empty. All writes go through os.Root as
// one transaction: if any write fails, the tree is put back as it was. The
// user's index, HEAD and branches are never touched. Submodules (gitlinks)
// are left as they are.
//
// Errors: EINVALID for a malformed id or path (absolute, "..", ".git", a
// leading '-'); ENOTFOUND for an unknown or non-snapshot id, or a path in
// neither the target nor the current tree; ECONFLICT when an ignored file
// or directory stands where the target needs to write. On any error the
// working tree is unchanged.
func (w *Workspace) Restore(ctx context.Context, id string, paths []string) (factory.RestoreResult, error) {
	op := "restore " + id
	_, target, err := w.snapTree(ctx, id)
	if err != nil {
		return factory.RestoreResult{}, factory.Wrap(op, err)
	}
	roots, err := cleanPaths(paths)
	if err != nil {
		return factory.RestoreResult{}, factory.Wrap(op, err)
	}
	for _, p := range roots {
		if err := w.refuseThroughLink(id, target, p); err != nil {
			return factory.RestoreResult{}, factory.Wrap(op, err)
		}
	}
	// Restores write the live tree: serialised with patches and landings.
	unlock, err := w.LockLanding(ctx)
	if err != nil {
		return factory.RestoreResult{}, factory.Wrap(op, err)
	}
	defer unlock()
	undoID, current, err := w.captureLive(ctx, "")
	if err != nil {
		return factory.RestoreResult{}, factory.Wrap(op, err)
	}
	res := factory.RestoreResult{Target: id, Undo: undoID, Written: []string{}, Deleted: []string{}}
	if roots != nil {
		for _, p := range roots {
			if p == "" {
				continue
			}
			inT, err := w.treeHasPath(target, p)
			if err != nil {
				return factory.RestoreResult{}, factory.Wrap(op, err)
			}
			inC, err := w.treeHasPath(current, p)
			if err != nil {
				return factory.RestoreResult{}, factory.Wrap(op, err)
			}
			if !inT && !inC {
				return factory.RestoreResult{}, factory.Wrap(op, factory.Errorf(factory.ENOTFOUND,
					"path %q is in neither snapshot %s nor the current tree; snapshot_diff shows which paths differ", p, id))
			}
		}
	}
	changes, err := w.store.DiffTrees(ctx, current, target, 0)
	if err != nil {
		return factory.RestoreResult{}, factory.Wrap(op, err)
	}
	ops, err := w.opsFor(changes, roots)
	if err != nil {
		return factory.RestoreResult{}, factory.Wrap(op, err)
	}
	written, deleted, err := w.applyOps(ctx, ops)
	if err != nil {
		return factory.RestoreResult{}, factory.Wrap(op, err)
	}
	res.Written = append(res.Written, written...)
	res.Deleted = append(res.Deleted, deleted...)
	return res, nil
}

// applyOps writes ops into the live tree as one transaction (txn.Apply).
// On error the tree is put back as it was and the error says what failed.
func (w *Workspace) applyOps(ctx context.Context, ops []txn.Op) (written, deleted []string, err error) {
	if w.hooks.beforeApply != nil {
		w.hooks.beforeApply()
	}
	return txn.Apply(ctx, w.root, w.gitDir, ops, txn.Options{Hook: w.hooks.write})
}

// cleanPaths validates user paths; nil in, nil out (the whole tree).
func cleanPaths(paths []string) ([]string, error) {
	if len(paths) == 0 {
		return nil, nil
	}
	out := make([]string, 0, len(paths))
	for _, p := range paths {
		c, err := checkRelPath(p)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// opsFor turns tree changes (from the live tree to the wanted one) into
// file operations with their content read, restricted to roots when given.
// Gitlinks are skipped on either side.
func (w *Workspace) opsFor(changes []gitstore.Change, roots []string) ([]txn.Op, error) {
	gitlinks := map[string]bool{}
	for _, c := range changes {
		if (c.From != nil && c.From.Mode == filemode.Submodule) || (c.To != nil && c.To.Mode == filemode.Submodule) {
			gitlinks[c.Path] = true
		}
	}
	var ops []txn.Op
	for _, c := range changes {
		if roots != nil && !underAny(c.Path, roots) {
			continue
		}
		if gitlinks[c.Path] || underGitlink(c.Path, gitlinks) {
			continue // a submodule or an embedded repository: not ours to write
		}
		if c.To == nil {
			ops = append(ops, txn.Op{Path: c.Path, Cur: c.From})
			continue
		}
		if c.From != nil && c.From.Hash == c.To.Hash && c.From.IsFile() && c.To.IsFile() {
			ops = append(ops, txn.Op{Path: c.Path, Cur: c.From, To: c.To, ModeOnly: true})
			continue
		}
		b, err := w.store.ReadBlob(c.To.Hash)
		if err != nil {
			return nil, err
		}
		ops = append(ops, txn.Op{Path: c.Path, Cur: c.From, To: c.To, Data: b})
	}
	return ops, nil
}

func underGitlink(p string, gitlinks map[string]bool) bool {
	if len(gitlinks) == 0 {
		return false
	}
	for d := path.Dir(p); d != "."; d = path.Dir(d) {
		if gitlinks[d] {
			return true
		}
	}
	return false
}

// refuseThroughLink returns EINVALID when a directory on the way to p is a
// symlink or a file, in snapshot id (tree target) or on disk: the path
// names nothing there, and a write would lead wherever the symlink points.
// It runs before the undo snapshot, so a refusal writes nothing.
func (w *Workspace) refuseThroughLink(id string, target plumbing.Hash, p string) error {
	refuse := func(d, what, where string) error {
		if what == "symlink" {
			return factory.Errorf(factory.EINVALID,
				"path %q goes through %q, which is a symlink %s; restore %q itself, or give the real path the symlink points to", p, d, where, d)
		}
		return factory.Errorf(factory.EINVALID,
			"path %q goes through %q, which is a file %s, not a directory; restore %q itself", p, d, where, d)
	}
	for d := path.Dir(p); d != "."; d = path.Dir(d) {
		if info, err := os.Lstat(filepath.Join(w.root, filepath.FromSlash(d))); err == nil {
			switch {
			case info.Mode()&fs.ModeSymlink != 0:
				return refuse(d, "symlink", "on disk")
			case !info.IsDir():
				return refuse(d, "file", "on disk")
			}
		}
		if target.IsZero() {
			continue
		}
		mode, ok, err := w.treeEntryMode(target, d)
		switch {
		case err != nil:
			return err
		case !ok || mode == filemode.Dir:
		case mode == filemode.Symlink:
			return refuse(d, "symlink", "in snapshot "+id)
		default:
			return refuse(d, "file", "in snapshot "+id)
		}
	}
	return nil
}

// treeEntryMode returns the mode of p in tree h, ok false when p is not
// there.
func (w *Workspace) treeEntryMode(h plumbing.Hash, p string) (filemode.FileMode, bool, error) {
	e, err := w.store.Lookup(h, p)
	if err != nil || e == nil {
		return 0, false, err
	}
	return e.Mode, true, nil
}

// treeHasPath reports whether p names a file or a directory in tree h.
func (w *Workspace) treeHasPath(h plumbing.Hash, p string) (bool, error) {
	if h.IsZero() {
		return false, nil
	}
	e, err := w.store.Lookup(h, strings.TrimSuffix(p, "/"))
	return e != nil, err
}
