package sandbox

import (
	"context"
	"path"
	"strings"

	"github.com/factory-dev/factory"
	"github.com/go-git/go-git/v5/plumbing"
)

// snapshotRefPrefix is where snapshots live in the workspace's object store.
const snapshotRefPrefix = "refs/factory/snapshots/"

// snapTree resolves a snapshot id to its commit and tree, with Resolve's
// error contract (EINVALID for a malformed id or one naming another git
// object, ENOTFOUND for an unknown one).
func (w *Workspace) snapTree(ctx context.Context, id string) (commit, tree plumbing.Hash, err error) {
	s, err := w.Resolve(ctx, id)
	if err != nil {
		return plumbing.ZeroHash, plumbing.ZeroHash, err
	}
	return plumbing.NewHash(s.Commit), plumbing.NewHash(s.Tree), nil
}

// checkRelPath validates a user-supplied workspace-relative path: not
// empty, not absolute, no "..", no ".git" component, no leading '-'. It
// returns the cleaned slash form.
func checkRelPath(p string) (string, error) {
	bad := func(why string) (string, error) {
		return "", factory.Errorf(factory.EINVALID, "path %q %s; give a path relative to the workspace root, like src/main.go", p, why)
	}
	if p == "" {
		return bad("is empty")
	}
	if strings.HasPrefix(p, "-") {
		return bad("begins with '-'")
	}
	if strings.HasPrefix(p, "/") || strings.HasPrefix(p, "\\") {
		return bad("is absolute")
	}
	if strings.ContainsRune(p, 0) {
		return bad("contains a NUL byte")
	}
	for _, c := range strings.Split(p, "/") {
		if c == ".." {
			return bad("leaves the workspace root")
		}
		if strings.EqualFold(c, ".git") {
			return bad("is inside .git")
		}
	}
	c := path.Clean(p)
	if c == "." {
		return "", nil // the whole tree
	}
	return c, nil
}

// underAny reports whether p is one of roots or inside one of them. An
// empty root ("") matches everything.
func underAny(p string, roots []string) bool {
	for _, r := range roots {
		if r == "" || p == r || strings.HasPrefix(p, r+"/") {
			return true
		}
	}
	return false
}

// captureLive snapshots the live tree with label and returns the snapshot's
// id and tree.
func (w *Workspace) captureLive(ctx context.Context, label string) (string, plumbing.Hash, error) {
	s, err := w.Snapshot(ctx, label)
	if err != nil {
		return "", plumbing.ZeroHash, err
	}
	return s.ID, plumbing.NewHash(s.Tree), nil
}
