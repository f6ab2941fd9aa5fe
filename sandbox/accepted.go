package sandbox

import (
	"context"
	"errors"
	"github.com/factory-dev/factory/sandbox/gitstore"
	"github.com/factory-dev/factory/sandbox/revwalk"
	"github.com/factory-dev/factory/sandbox/textdiff"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/factory-dev/factory"
	"github.com/factory-dev/factory/sandbox/gitstore/gitdir"
	"github.com/factory-dev/factory/sandbox/proc"
	"github.com/go-git/go-git/v5/plumbing"
)

// This file is the gate's record of what it accepted, for the hooks that
// make the gate the way into the branch: one ref per accepted tree,
// refs/factory/accepted/<tree>, pointing at the snapshot commit that holds
// it. A check is one file lookup; the ref also keeps the snapshot's
// objects from git gc. Nothing here touches the index, HEAD or a branch.
//
// The record is not a proof: whoever can write into .git can forge a ref,
// so a ref counts only when it names a snapshot commit factory wrote whose
// tree is the ref's name, and the hooks refuse shell commands that name
// these refs.

// acceptedRefPrefix is where accepted trees are recorded.
const acceptedRefPrefix = "refs/factory/accepted/"

// MarkAccepted records that the gate accepted the tree of snapshot id:
// refs/factory/accepted/<tree> -> the snapshot's commit. Marking a tree
// twice keeps the first record. Errors: those of Resolve for id.
func (w *Workspace) MarkAccepted(ctx context.Context, snapshotID string) error {
	s, err := w.Resolve(ctx, snapshotID)
	if err != nil {
		return factory.Wrap("mark accepted", err)
	}
	if _, ok := w.Accepted(ctx, s.Tree); ok {
		return nil
	}
	dir := filepath.Join(gitdir.CommonDir(w.gitDir), filepath.FromSlash(acceptedRefPrefix))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return factory.Wrap("mark accepted", err)
	}
	// git's way: a .lock created exclusively, then renamed over the ref
	lock := filepath.Join(dir, s.Tree+".lock")
	f, err := os.OpenFile(lock, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if errors.Is(err, os.ErrExist) {
		return nil // another process is recording the same tree
	}
	if err != nil {
		return factory.Wrap("mark accepted", err)
	}
	_, werr := f.WriteString(s.Commit + "\n")
	if err := errors.Join(werr, f.Close()); err != nil {
		os.Remove(lock)
		return factory.Wrap("mark accepted", err)
	}
	if err := os.Rename(lock, filepath.Join(dir, s.Tree)); err != nil {
		os.Remove(lock)
		return factory.Wrap("mark accepted", err)
	}
	return nil
}

// Accepted reports whether the gate accepted tree (a full tree id), and
// the snapshot commit that records it. A ref that does not name a snapshot
// commit of factory's with exactly that tree does not count.
func (w *Workspace) Accepted(ctx context.Context, tree string) (commit string, ok bool) {
	t, ok := gitdir.ParseHex(tree)
	if !ok || ctx.Err() != nil {
		return "", false
	}
	c, ok := gitdir.ResolveRef(w.gitDir, gitdir.CommonDir(w.gitDir), acceptedRefPrefix+t.String(), 0)
	if !ok {
		return "", false
	}
	s, ours, err := w.snapshotMeta(c)
	if err != nil || !ours || s.Tree != t.String() {
		return "", false
	}
	return c.String(), true
}

// GateStatus says which trees a commit could record, and whether the gate
// accepted each. A tree equal to HEAD's counts as accepted: committing it
// brings nothing new onto the branch.
type GateStatus struct {
	Head          string // HEAD's tree; "" in a repository without commits
	HeadAccepted  bool   // the gate accepted HEAD's tree
	Live          string // the live working tree as a snapshot captures it (what `git add -A` would stage)
	LiveAccepted  bool
	Index         string // the tree the index would commit (`git write-tree`)
	IndexAccepted bool
}

// Gate computes the GateStatus of the working tree and of the index in
// indexFile (empty: the repository's index). The live tree's objects are
// stored as a snapshot would store them; the index is read through a copy,
// so the user's index file is never written. Errors: ECONFLICT when the
// index cannot be written as a tree (unresolved conflicts), EINTERNAL for
// git failures.
func (w *Workspace) Gate(ctx context.Context, indexFile string) (GateStatus, error) {
	var st GateStatus
	if head, ok := w.store.Head(); ok {
		t, err := w.store.CommitTree(head)
		if err != nil {
			return st, factory.Wrap("gate status: read HEAD", err)
		}
		st.Head = t.String()
		_, st.HeadAccepted = w.Accepted(ctx, st.Head)
	}
	live, err := w.capture(ctx, w.root, nil)
	if err != nil {
		return st, factory.Wrap("gate status: capture the working tree", err)
	}
	st.Live = live.String()
	if st.Index, err = w.IndexTree(ctx, indexFile); err != nil {
		return st, err
	}
	st.LiveAccepted = w.Committable(ctx, st.Live)
	st.IndexAccepted = w.Committable(ctx, st.Index)
	return st, nil
}

// Committable says whether a commit of tree brings only judged content
// onto the branch: the gate accepted it, or it is HEAD's tree (nothing
// new; an empty tree in a repository without commits).
func (w *Workspace) Committable(ctx context.Context, tree string) bool {
	head := ""
	if c, ok := w.store.Head(); ok {
		t, err := w.store.CommitTree(c)
		if err != nil {
			return false
		}
		head = t.String()
	}
	if tree == head || head == "" && tree == gitstore.EmptyTree.String() {
		return true
	}
	_, ok := w.Accepted(ctx, tree)
	return ok
}

// IndexTree returns the tree the index in indexFile (empty: the
// repository's index) would commit, computed by `git write-tree` on a copy
// of it (write-tree also rewrites the index it reads), with no hook or
// configured program run. Errors: ECONFLICT for an index git cannot write
// as a tree (unresolved conflicts), EINTERNAL otherwise.
func (w *Workspace) IndexTree(ctx context.Context, indexFile string) (string, error) {
	const op = "read the index's tree"
	if indexFile == "" {
		indexFile = filepath.Join(w.gitDir, "index")
	}
	tmp, err := os.MkdirTemp(w.cfg.TempDir, "factory-index-")
	if err != nil {
		return "", factory.Wrap(op, err)
	}
	defer os.RemoveAll(tmp)
	copyIndex := filepath.Join(tmp, "index")
	data, err := os.ReadFile(indexFile)
	if err == nil {
		err = os.WriteFile(copyIndex, data, 0o600)
	}
	if errors.Is(err, os.ErrNotExist) {
		return gitstore.EmptyTree.String(), nil // no index yet: nothing staged
	} else if err != nil {
		return "", factory.Wrap(op, err)
	}
	res, err := proc.Run(ctx, proc.Cmd{Argv: safeGit("write-tree"), Dir: w.root,
		Env: safeGitEnv("GIT_DIR="+w.gitDir, "GIT_INDEX_FILE="+copyIndex), Timeout: 2 * time.Minute, MaxOutput: 1 << 16})
	if err != nil {
		return "", factory.Wrap(op, err)
	}
	if res.ExitCode != 0 {
		return "", factory.Errorf(factory.ECONFLICT, "%s: git write-tree exited %d (unresolved conflicts in the index?): %s", op, res.ExitCode, textdiff.Clip(strings.TrimSpace(string(res.Stderr)), 300))
	}
	h, ok := gitdir.ParseHex(strings.TrimSpace(string(res.Stdout)))
	if !ok {
		return "", factory.Errorf(factory.EUNAVAILABLE, "%s: git write-tree printed %q; factory supports SHA-1 repositories only", op, textdiff.Clip(string(res.Stdout), 80))
	}
	return h.String(), nil
}

// UpstreamTree returns the tree of the current branch's upstream
// (@{upstream}); ok is false when the branch has none.
func (w *Workspace) UpstreamTree(ctx context.Context) (tree string, ok bool) {
	res, err := proc.Run(ctx, proc.Cmd{Argv: safeGit("rev-parse", "--verify", "--quiet", "@{upstream}^{tree}"),
		Dir: w.root, Env: safeGitEnv("GIT_DIR=" + w.gitDir), Timeout: time.Minute, MaxOutput: 1 << 12})
	if err != nil || res.ExitCode != 0 {
		return "", false
	}
	h, ok := gitdir.ParseHex(strings.TrimSpace(string(res.Stdout)))
	return h.String(), ok
}

// Unjudged lists the paths of tree live (at most limit) whose content no
// gate judged: the paths that differ from the nearest judged tree, HEAD's
// or the most recently accepted one, whichever is closer. total is how
// many there are.
func (w *Workspace) Unjudged(ctx context.Context, st GateStatus, limit int) (paths []string, total int, err error) {
	live, ok := gitdir.ParseHex(st.Live)
	if !ok {
		return nil, 0, factory.Errorf(factory.EINVALID, "unjudged: %q is not a tree id", textdiff.Clip(st.Live, 60))
	}
	var best []gitstore.Change
	bases := []plumbing.Hash{plumbing.NewHash(st.Head)} // zero for no HEAD: the empty tree
	if t, ok := w.newestAccepted(ctx); ok {
		bases = append(bases, t)
	}
	for i, b := range bases {
		ch, err := w.store.DiffTrees(ctx, b, live, 0)
		if err != nil {
			return nil, 0, factory.Wrap("unjudged", err)
		}
		if i == 0 || len(ch) < len(best) {
			best = ch
		}
	}
	for _, c := range best {
		if len(paths) < limit {
			paths = append(paths, c.Path)
		}
	}
	return paths, len(best), nil
}

// newestAccepted returns the most recently recorded accepted tree (loose
// refs only: packed ones are older).
func (w *Workspace) newestAccepted(ctx context.Context) (plumbing.Hash, bool) {
	for _, t := range revwalk.RefsByAge(filepath.Join(gitdir.CommonDir(w.gitDir), filepath.FromSlash(acceptedRefPrefix))) {
		if _, ok := w.Accepted(ctx, t.String()); ok {
			return t, true
		}
	}
	return plumbing.ZeroHash, false
}

// GitPath returns the absolute path git uses for name inside the git
// directory (`git rev-parse --git-path`), which honours core.hooksPath
// for hooks/... and the common directory of linked worktrees.
func (w *Workspace) GitPath(ctx context.Context, name string) (string, error) {
	// not safeGit: its core.hooksPath=/dev/null would hide where git looks;
	// rev-parse runs no hook or configured program
	res, err := proc.Run(ctx, proc.Cmd{Argv: []string{"git", "rev-parse", "--git-path", name}, Dir: w.root,
		Env: append(proc.BaseEnv(nil), "GIT_DIR="+w.gitDir, "GIT_TERMINAL_PROMPT=0"), Timeout: time.Minute, MaxOutput: 1 << 12})
	if err != nil {
		return "", factory.Wrap("git path "+name, err)
	}
	if res.ExitCode != 0 {
		return "", factory.Errorf(factory.EINTERNAL, "git rev-parse --git-path %s exited %d: %s", name, res.ExitCode, textdiff.Clip(strings.TrimSpace(string(res.Stderr)), 300))
	}
	p := strings.TrimSpace(string(res.Stdout))
	if !filepath.IsAbs(p) {
		p = filepath.Join(w.root, p)
	}
	return p, nil
}
