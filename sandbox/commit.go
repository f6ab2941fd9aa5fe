package sandbox

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/factory-dev/factory"
	"github.com/factory-dev/factory/sandbox/gitstore/gitdir"
	"github.com/factory-dev/factory/sandbox/proc"
	"github.com/factory-dev/factory/sandbox/textdiff"
	"github.com/go-git/go-git/v5/plumbing"
)

// safeGit is the argv of a git command run so that nothing the repository
// configures can run code: no hooks (a tracked core.hooksPath included),
// no fsmonitor, no signing program.
func safeGit(args ...string) []string {
	return append([]string{"git", "-c", "core.hooksPath=/dev/null", "-c", "core.fsmonitor=false",
		"-c", "commit.gpgSign=false"}, args...)
}

// safeGitEnv is the environment of safeGit: the system and global
// configuration (which may name programs) are not read, no prompt.
func safeGitEnv(extra ...string) []string {
	env := append(proc.BaseEnv(nil), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null",
		"GIT_TERMINAL_PROMPT=0", "GIT_OPTIONAL_LOCKS=0")
	return append(env, extra...)
}

// LockLanding serialises what lands in the live tree and on the branch
// (a gated change's promotion and commit, patch_apply, snapshot_restore):
// the workspace's own lock, then an exclusive lock on
// .git/factory/land.lock, so two server processes on one repository take
// turns too. It waits until both are held or ctx ends (ETIMEOUT).
func (w *Workspace) LockLanding(ctx context.Context) (unlock func(), err error) {
	dir := filepath.Join(gitdir.CommonDir(w.gitDir), "factory")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, factory.Wrap("lock landing", err)
	}
	f, err := os.OpenFile(filepath.Join(dir, "land.lock"), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, factory.Wrap("lock landing", err)
	}
	for {
		if w.land.TryLock() {
			if tryLockFile(f) == nil {
				return func() {
					unlockFile(f)
					f.Close()
					w.land.Unlock()
				}, nil
			}
			w.land.Unlock()
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, factory.Errorf(factory.ETIMEOUT, "waiting for another change to land: %v", ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// CommitRequest asks for one commit of a tree on HEAD's branch.
type CommitRequest struct {
	Tree    string // the tree to commit, exactly (a snapshot's tree id); required
	Parent  string // the commit HEAD must still name; "" means whatever HEAD names now (nothing in a new repository)
	Message string // the whole message, trailers included; required
}

// Commit records Tree, exactly, as a new commit whose parent is HEAD, moves
// HEAD's branch to it (only if the branch still names that parent), and
// makes the index match the commit. It is built with plumbing
// (commit-tree, update-ref, read-tree) under safeGit: no hook runs (a
// tracked core.hooksPath included), nothing is checked out and the working
// tree is not touched. The author is the repository's user.name and
// user.email. Errors: EINVALID for a malformed request or no identity;
// ENOTFOUND when the tree is not in the object store; ECONFLICT when HEAD
// moved (nothing was committed); when the commit landed but the index
// could not be updated, the commit id is returned with the error.
func (w *Workspace) Commit(ctx context.Context, req CommitRequest) (string, error) {
	const op = "commit"
	tree, ok := gitdir.ParseHex(req.Tree)
	if !ok {
		return "", factory.Errorf(factory.EINVALID, "commit: %q is not a full tree id", textdiff.Clip(req.Tree, 60))
	}
	if strings.TrimSpace(req.Message) == "" {
		return "", factory.Errorf(factory.EINVALID, "commit: the message is empty")
	}
	if !w.store.HasObject(tree) {
		return "", factory.Errorf(factory.ENOTFOUND, "commit: tree %s is not in the object store", tree)
	}
	head, hasHead := w.store.Head()
	if req.Parent != "" && (!hasHead || head.String() != req.Parent) {
		return "", factory.Errorf(factory.ECONFLICT, "commit: HEAD moved from %s since the change was judged; nothing was committed", textdiff.Clip(req.Parent, 12))
	}
	ident, err := w.identity(ctx)
	if err != nil {
		return "", factory.Wrap(op, err)
	}
	git := func(stdin string, args ...string) (string, error) {
		res, err := proc.Run(ctx, proc.Cmd{Argv: safeGit(args...), Dir: w.root, Env: safeGitEnv(ident...),
			Stdin: strings.NewReader(stdin), Timeout: 2 * time.Minute, MaxOutput: 1 << 20})
		if err != nil {
			return "", err
		}
		if res.ExitCode != 0 {
			return "", factory.Errorf(factory.ECONFLICT, "git %s exited %d: %s", args[0], res.ExitCode, textdiff.Clip(strings.TrimSpace(string(res.Stderr)), 500))
		}
		return strings.TrimSpace(string(res.Stdout)), nil
	}
	argv := []string{"commit-tree", "--no-gpg-sign", tree.String()}
	old := plumbing.ZeroHash.String()
	if hasHead {
		argv = append(argv, "-p", head.String())
		old = head.String()
	}
	out, err := git(strings.TrimRight(req.Message, "\n")+"\n", argv...)
	if err != nil {
		return "", factory.Wrap(op, err)
	}
	c, ok := gitdir.ParseHex(out)
	if !ok {
		return "", factory.Errorf(factory.EINTERNAL, "commit: git commit-tree printed %q", textdiff.Clip(out, 80))
	}
	if _, err := git("", "update-ref", "-m", "factory: accepted change", "HEAD", c.String(), old); err != nil {
		return "", factory.Wrap(op, err)
	}
	if _, err := git("", "read-tree", c.String()); err != nil {
		return c.String(), factory.Errorf(factory.ECONFLICT, "committed %s, but the index could not be made to match it (run `git reset` to do so): %s", c, factory.ErrorMessage(err))
	}
	return c.String(), nil
}

// identity returns the author and committer environment for a commit, from
// the user's git configuration (reading it runs nothing).
func (w *Workspace) identity(ctx context.Context) ([]string, error) {
	get := func(key string) string {
		res, err := proc.Run(ctx, proc.Cmd{Argv: []string{"git", "config", "--get", key}, Dir: w.root, Timeout: 30 * time.Second})
		if err != nil || res.ExitCode != 0 {
			return ""
		}
		return strings.TrimSpace(string(res.Stdout))
	}
	name, email := get("user.name"), get("user.email")
	if name == "" || email == "" {
		return nil, factory.Errorf(factory.EINVALID, "no git identity to commit as; run `git config user.name \"Your Name\"` and `git config user.email you@example.com`")
	}
	return []string{"GIT_AUTHOR_NAME=" + name, "GIT_AUTHOR_EMAIL=" + email, "GIT_COMMITTER_NAME=" + name, "GIT_COMMITTER_EMAIL=" + email}, nil
}
