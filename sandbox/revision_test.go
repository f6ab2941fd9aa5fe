package sandbox

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/factory-dev/factory"
	"github.com/factory-dev/factory/internal/attacktest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestReadFileAtReadsTheCommittedFileNeverTheWorkingTree(t *testing.T) {
	w, dir := rsRepo(t)
	rsWrite(t, dir, "factory.yaml", "version: 1\n", 0o644)
	rsWrite(t, dir, "deep/er/f.txt", "deep\n", 0o644)
	rsGit(t, dir, "add", "-A")
	rsGit(t, dir, "commit", "-q", "-m", "rules")
	rsGit(t, dir, "tag", "-a", "v1", "-m", "v1")
	rsWrite(t, dir, "factory.yaml", "version: 1\nloosened: true\n", 0o644)
	rsWrite(t, dir, "deep/er/f.txt", "edited\n", 0o644)
	guard := []string{filepath.Join(dir, ".git", "index"), filepath.Join(dir, ".git", "HEAD"), filepath.Join(dir, ".git", "refs", "heads")}
	before := attacktest.Take(t, guard...)
	ctx := context.Background()

	for _, rev := range []string{"HEAD", "main", "refs/heads/main", "v1", strings.TrimSpace(rsGit(t, dir, "rev-parse", "HEAD"))} {
		b, err := w.ReadFileAt(ctx, rev, "factory.yaml")
		require.NoError(t, err, rev)
		assert.Equal(t, "version: 1\n", string(b), rev)
	}
	b, err := w.ReadFileAt(ctx, "HEAD", "deep/er/f.txt")
	require.NoError(t, err)
	assert.Equal(t, "deep\n", string(b))

	for _, c := range []struct{ rev, path, code string }{
		{"HEAD", "missing.yaml", factory.ENOTFOUND},
		{"HEAD", "deep/er", factory.EINVALID},
		{"HEAD", "README/x", factory.ENOTFOUND},
		{"HEAD", "../etc/passwd", factory.EINVALID},
		{"-c", "factory.yaml", factory.EINVALID},
		{"HEAD~1", "factory.yaml", factory.ENOTFOUND},
		{"HEAD~5", "factory.yaml", factory.EINVALID},
		{"nobranch", "factory.yaml", factory.EINVALID},
	} {
		_, err := w.ReadFileAt(ctx, c.rev, c.path)
		assert.Equal(t, c.code, factory.ErrorCode(err), "%s:%s: %v", c.rev, c.path, err)
	}
	attacktest.Unchanged(t, before, guard...)
}

func TestReadFileAtInARepositoryWithNoCommitSaysSo(t *testing.T) {
	dir := t.TempDir()
	rsGit(t, dir, "init", "-q", "-b", "main")
	rsWrite(t, dir, "factory.yaml", "version: 1\n", 0o644)
	w, err := Open(context.Background(), Config{Root: dir})
	require.NoError(t, err)
	_, err = w.ReadFileAt(context.Background(), "HEAD", "factory.yaml")
	assert.Equal(t, factory.ENOTFOUND, factory.ErrorCode(err))
	assert.Contains(t, err.Error(), "no commit yet")
}

// attack: commit a judged tree after HEAD moved under it -> ECONFLICT, no commit made, refs and index unchanged
func TestAttackCommitAfterHeadMoved(t *testing.T) {
	w, dir := rsRepo(t)
	rsGit(t, dir, "config", "user.name", "t")
	rsGit(t, dir, "config", "user.email", "t@example.com")
	ctx := context.Background()
	rsWrite(t, dir, "a.txt", "a\n", 0o644)
	s, err := w.Snapshot(ctx, "")
	require.NoError(t, err)
	old := strings.TrimSpace(rsGit(t, dir, "rev-parse", "HEAD"))
	rsGit(t, dir, "commit", "-q", "--allow-empty", "-m", "moved")
	guard := []string{filepath.Join(dir, ".git", "index"), filepath.Join(dir, ".git", "HEAD"), filepath.Join(dir, ".git", "refs", "heads")}
	before := attacktest.Take(t, guard...)
	_, err = w.Commit(ctx, CommitRequest{Tree: s.Tree, Parent: old, Message: "judged on the old HEAD"})
	assert.Equal(t, factory.ECONFLICT, factory.ErrorCode(err), "%v", err)
	attacktest.Unchanged(t, before, guard...)

	c, err := w.Commit(ctx, CommitRequest{Tree: s.Tree, Message: "now"})
	require.NoError(t, err)
	assert.Equal(t, c, strings.TrimSpace(rsGit(t, dir, "rev-parse", "HEAD")))
	assert.Equal(t, s.Tree, strings.TrimSpace(rsGit(t, dir, "rev-parse", "HEAD^{tree}")))
	assert.Empty(t, strings.TrimSpace(rsGit(t, dir, "status", "--porcelain")))
}

func TestLockLandingIsExclusiveAcrossWorkspaces(t *testing.T) {
	w1, dir := rsRepo(t)
	w2, err := Open(context.Background(), Config{Root: dir})
	require.NoError(t, err)
	unlock, err := w1.LockLanding(context.Background())
	require.NoError(t, err)
	done, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = w2.LockLanding(done)
	assert.Equal(t, factory.ETIMEOUT, factory.ErrorCode(err), "a second workspace (another process) waits for the file lock")
	_, err = w1.LockLanding(done)
	assert.Equal(t, factory.ETIMEOUT, factory.ErrorCode(err), "the same workspace waits too")
	unlock()
	unlock2, err := w2.LockLanding(context.Background())
	require.NoError(t, err)
	unlock2()
	_, err = os.Stat(filepath.Join(dir, ".git", "factory", "land.lock"))
	require.NoError(t, err)
}
