package sandbox

import (
	"context"
	"github.com/factory-dev/factory/sandbox/revwalk"
	"strings"
	"time"

	"github.com/factory-dev/factory"
	"github.com/factory-dev/factory/sandbox/gitstore/gitdir"
	"github.com/factory-dev/factory/sandbox/proc"
	"github.com/factory-dev/factory/sandbox/textdiff"
	"github.com/go-git/go-git/v5/plumbing"
)

// revisionHint ends every message about a name that is neither a snapshot
// nor a revision, so the agent knows both forms it may give.
const revisionHint = "give a snapshot id (snapshot_list) or a git revision such as HEAD~1, a branch, a tag or a commit hash"

// ResolveTree returns the snapshot that name designates: a snapshot id
// (s-3f9a2c) resolves as Resolve does; anything else is read as a git
// revision (HEAD, HEAD~3, a branch, a tag, a full or abbreviated commit
// hash, main@{1}) and becomes a snapshot of that commit's tree, made
// without touching the index, HEAD or the working tree. A revision whose
// commit already has such a snapshot gets that one back, with Reused set,
// so naming HEAD~1 twice costs one snapshot. Errors: EINVALID naming what
// was tried, for an empty name, one beginning with '-' (nothing that looks
// like an option reaches git) or one naming no commit.
func (w *Workspace) ResolveTree(ctx context.Context, name string) (factory.Snapshot, error) {
	name = strings.TrimSpace(name)
	if _, err := parseSnapshotID(name); err == nil {
		return w.Resolve(ctx, name)
	}
	if name == "" {
		return factory.Snapshot{}, factory.Errorf(factory.EINVALID, "no tree named; %s", revisionHint)
	}
	c, tree, err := w.revisionTree(ctx, name)
	if err != nil {
		return factory.Snapshot{}, factory.Wrap("resolve "+textdiff.Clip(name, 60), err)
	}
	if s, ok := w.snapshotOfCommit(ctx, c, tree); ok {
		return s, nil
	}
	// Unlabelled, so retention may prune it: the commit can make it again.
	return w.SnapshotRevision(ctx, c.String(), "")
}

// snapshotOfCommit finds a snapshot factory made of commit c (its parent
// is c and its tree is c's tree), marked Reused.
func (w *Workspace) snapshotOfCommit(ctx context.Context, c, tree plumbing.Hash) (factory.Snapshot, bool) {
	all, err := w.allSnapshots(ctx)
	if err != nil {
		return factory.Snapshot{}, false
	}
	for _, s := range all {
		if s.Parent == c.String() && s.Tree == tree.String() {
			s.Reused = true
			return s, true
		}
	}
	return factory.Snapshot{}, false
}

// revParse resolves rev to a commit with `git rev-parse --verify`, for
// the forms resolveRevision does not read itself (HEAD~3, main^2, an
// abbreviated hash, @{-1}). rev never begins with '-' and follows
// --end-of-options, so git cannot read it as an option; the ^{commit}
// suffix makes a name of a tree or blob (HEAD:path) fail. rev-parse runs
// no hook and, with optional locks off, writes nothing.
func (w *Workspace) revParse(ctx context.Context, rev string) (plumbing.Hash, error) {
	bad := factory.Errorf(factory.EINVALID, "%s: no such revision; %s", textdiff.Clip(rev, 60), revisionHint)
	if rev == "" || strings.HasPrefix(rev, "-") || strings.ContainsAny(rev, "\x00\n\r") || len(rev) > 256 {
		return plumbing.ZeroHash, bad
	}
	res, err := proc.Run(ctx, proc.Cmd{
		Argv: safeGit("rev-parse", "--verify", "--quiet", "--end-of-options", rev+"^{commit}"),
		Dir:  w.root, Env: safeGitEnv(), Timeout: time.Minute,
	})
	if err != nil {
		return plumbing.ZeroHash, factory.Wrap("git rev-parse", err)
	}
	h, ok := gitdir.ParseHex(strings.TrimSpace(string(res.Stdout)))
	if res.ExitCode != 0 || !ok {
		return plumbing.ZeroHash, bad
	}
	return h, nil
}

// ReadTreeFile returns the file at the slash-separated path p in the tree
// at names (a snapshot id, or any git revision as ResolveTree takes it) and
// what was read: the snapshot id, or the revision's commit hash. Nothing
// is written: a revision is read without making a snapshot of it. Errors
// as for ResolveTree and ReadFileAt (a symlink or directory is not a
// regular file: EINVALID, never followed).
func (w *Workspace) ReadTreeFile(ctx context.Context, at, p string) (data []byte, read string, err error) {
	at = strings.TrimSpace(at)
	clean, err := checkRelPath(p)
	if err != nil {
		return nil, "", err
	}
	if _, perr := parseSnapshotID(at); perr == nil {
		s, err := w.Resolve(ctx, at)
		if err != nil {
			return nil, "", err
		}
		data, err = revwalk.FileInTree(w.store, plumbing.NewHash(s.Tree), clean, s.ID)
		return data, s.ID, err
	}
	c, tree, err := w.revisionTree(ctx, at)
	if err != nil {
		return nil, "", factory.Wrap("read "+p, err)
	}
	data, err = revwalk.FileInTree(w.store, tree, clean, textdiff.Clip(at, 60))
	return data, c.String(), err
}
