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

// This file reads committed state (a file at a revision, a revision's tree
// as a snapshot) and makes factory's own commits. Reads never touch the
// index, HEAD or the working tree; commits are built with git plumbing
// under a configuration in which nothing from the repository runs.

// resolveRevision returns the commit rev names: "HEAD", a full ref name
// (refs/...), a branch or tag name, or a full 40-hex object id, read from
// files without running git; any other form (HEAD~3, an abbreviated hash,
// @{-1}) goes to revParse. Errors: EINVALID for a name beginning with '-'
// or naming no commit, ENOTFOUND for HEAD of a repository with no commit.
func (w *Workspace) resolveRevision(ctx context.Context, rev string) (plumbing.Hash, error) {
	if rev == "" || strings.HasPrefix(rev, "-") || strings.ContainsRune(rev, 0) {
		return plumbing.ZeroHash, factory.Errorf(factory.EINVALID, "%q is not a revision factory reads; %s", textdiff.Clip(rev, 60), revisionHint)
	}
	if h, ok := gitdir.ParseHex(rev); ok {
		return h, nil
	}
	if !strings.Contains(rev, "..") && !strings.ContainsAny(rev, "\\ ~^:@{") {
		common := gitdir.CommonDir(w.gitDir)
		names := []string{rev}
		if rev != "HEAD" && !strings.HasPrefix(rev, "refs/") {
			names = []string{"refs/heads/" + rev, "refs/tags/" + rev}
		}
		for _, n := range names {
			if h, ok := gitdir.ResolveRef(w.gitDir, common, n, 0); ok {
				return h, nil
			}
		}
		if rev == "HEAD" {
			return plumbing.ZeroHash, factory.Errorf(factory.ENOTFOUND, "the repository has no commit yet (HEAD names nothing); commit first")
		}
	}
	return w.revParse(ctx, rev)
}

// revisionTree returns the commit and tree of rev (a tag is followed to
// its commit).
func (w *Workspace) revisionTree(ctx context.Context, rev string) (commit, tree plumbing.Hash, err error) {
	c, err := w.resolveRevision(ctx, rev)
	if err != nil {
		return c, c, err
	}
	for range 5 {
		b, err := w.store.ReadObject(plumbing.AnyObject, c)
		if err != nil {
			return c, c, factory.Errorf(factory.ENOTFOUND, "revision %q names %s, which is not in the object store", rev, c)
		}
		line, _, _ := strings.Cut(string(b), "\n")
		if t, ok := strings.CutPrefix(line, "object "); ok { // an annotated tag
			if c, ok = gitdir.ParseHex(t); !ok {
				break
			}
			continue
		}
		t, err := w.store.CommitTree(c)
		if err != nil {
			break
		}
		return c, t, nil
	}
	return c, c, factory.Errorf(factory.EINVALID, "revision %q does not name a commit", rev)
}

// ReadFileAt returns the file at the slash-separated path p in the tree of
// revision rev (HEAD, HEAD~2, a branch, a tag, a commit hash), read
// from the object store: the index, HEAD and the working tree are neither
// read nor written. Errors: EINVALID for a malformed revision or path or a
// path that is not a regular file; ENOTFOUND when the revision names
// nothing (a repository with no commit yet) or its tree has no such file.
func (w *Workspace) ReadFileAt(ctx context.Context, rev, p string) ([]byte, error) {
	op := "read " + p + " at " + rev
	if err := ctx.Err(); err != nil {
		return nil, factory.Wrap(op, err)
	}
	clean, err := checkRelPath(p)
	if err != nil {
		return nil, factory.Wrap(op, err)
	}
	_, tree, err := w.revisionTree(ctx, rev)
	if err != nil {
		return nil, factory.Wrap(op, err)
	}
	return revwalk.FileInTree(w.store, tree, clean, rev)
}

// SnapshotRevision makes a snapshot whose tree is the tree of revision rev
// (as ReadFileAt resolves it) and returns it: the default baseline of a
// check is HEAD. Errors as for ReadFileAt's revision.
func (w *Workspace) SnapshotRevision(ctx context.Context, rev, label string) (factory.Snapshot, error) {
	c, _, err := w.revisionTree(ctx, rev)
	if err != nil {
		return factory.Snapshot{}, factory.Wrap("snapshot "+rev, err)
	}
	id, err := w.SnapshotCommit(ctx, c.String(), label)
	if err != nil {
		return factory.Snapshot{}, err
	}
	return w.Resolve(ctx, id)
}

// IgnoredBy says whether git ignores the (untracked) path p of the working
// tree, and if so which rule does it, as `git check-ignore -v` prints it
// ("source:line:pattern"). A tracked file is never ignored.
func (w *Workspace) IgnoredBy(ctx context.Context, p string) (rule string, ignored bool, err error) {
	clean, err := checkRelPath(p)
	if err != nil {
		return "", false, err
	}
	res, err := proc.Run(ctx, proc.Cmd{Argv: safeGit("check-ignore", "-v", "--", clean), Dir: w.root, Env: safeGitEnv(), Timeout: time.Minute})
	if err != nil {
		return "", false, err
	}
	switch res.ExitCode {
	case 0:
		out := strings.TrimSpace(string(res.Stdout))
		rule, _, _ = strings.Cut(out, "\t")
		return rule, true, nil
	case 1:
		return "", false, nil
	}
	return "", false, factory.Errorf(factory.EINTERNAL, "git check-ignore exited %d: %s", res.ExitCode, textdiff.Clip(strings.TrimSpace(string(res.Stderr)), 300))
}
