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

// historyRepo is rsRepo with three commits on main (README says v1, v2,
// v3), a tag v1 on the first, a branch old at the second, and an
// uncommitted edit in the working tree.
func historyRepo(t *testing.T) (*Workspace, string) {
	w, dir := rsRepo(t)
	rsWrite(t, dir, "README", "v1\n", 0o644)
	rsGit(t, dir, "commit", "-q", "-am", "v1")
	rsGit(t, dir, "tag", "v1")
	rsWrite(t, dir, "README", "v2\n", 0o644)
	rsGit(t, dir, "commit", "-q", "-am", "v2")
	rsGit(t, dir, "branch", "old")
	rsWrite(t, dir, "README", "v3\n", 0o644)
	rsGit(t, dir, "commit", "-q", "-am", "v3")
	rsWrite(t, dir, "README", "live\n", 0o644)
	return w, dir
}

// repoGuard is what no revision read may change: the index, HEAD, the
// branches and tags, the working tree's file.
func repoGuard(dir string) []string {
	g := filepath.Join(dir, ".git")
	return []string{filepath.Join(g, "index"), filepath.Join(g, "HEAD"), filepath.Join(g, "refs", "heads"), filepath.Join(g, "refs", "tags"), filepath.Join(dir, "README")}
}

func TestResolveTreeTakesAnyRevisionAndReusesItsSnapshot(t *testing.T) {
	w, dir := historyRepo(t)
	before := attacktest.Take(t, repoGuard(dir)...)
	ctx := context.Background()
	short := strings.TrimSpace(rsGit(t, dir, "rev-parse", "--short", "HEAD~2"))
	for rev, want := range map[string]string{"HEAD": "v3", "HEAD~1": "v2", "HEAD^^": "v1", "old": "v2", "v1": "v1", short: "v1", "main~2": "v1", "HEAD@{0}": "v3"} {
		s, err := w.ResolveTree(ctx, rev)
		require.NoError(t, err, rev)
		tree := strings.TrimSpace(rsGit(t, dir, "rev-parse", rev+"^{tree}"))
		assert.Equal(t, tree, s.Tree, rev)
		assert.Regexp(t, `^s-[0-9a-f]+$`, s.ID)
		b, err := w.ReadFileAt(ctx, rev, "README")
		require.NoError(t, err, rev)
		assert.Equal(t, want+"\n", string(b), rev)
	}
	a, err := w.ResolveTree(ctx, "HEAD~1")
	require.NoError(t, err)
	b, err := w.ResolveTree(ctx, "old")
	require.NoError(t, err)
	assert.Equal(t, a.ID, b.ID, "the same commit gives the same snapshot")
	assert.True(t, b.Reused)
	again, err := w.ResolveTree(ctx, a.ID)
	require.NoError(t, err)
	assert.Equal(t, a.Tree, again.Tree, "a snapshot id resolves as itself")
	attacktest.Unchanged(t, before, repoGuard(dir)...)
}

func TestResolveTreeRefusesWhatNamesNoCommit(t *testing.T) {
	w, dir := historyRepo(t)
	before := attacktest.Take(t, repoGuard(dir)...)
	for _, name := range []string{"", "HEAD~99", "nobranch", "HEAD:README", "HEAD^{tree}", "s-000000", "a b"} {
		_, err := w.ResolveTree(context.Background(), name)
		require.Error(t, err, name)
		code := factory.ErrorCode(err)
		assert.Contains(t, []string{factory.EINVALID, factory.ENOTFOUND}, code, "%q: %v", name, err)
		if code == factory.EINVALID {
			assert.Contains(t, err.Error(), "snapshot", name)
		}
	}
	_, err := w.ResolveTree(context.Background(), "HEAD~99")
	assert.Contains(t, err.Error(), "HEAD~99: no such revision; give a snapshot id (snapshot_list) or a git revision")
	attacktest.Unchanged(t, before, repoGuard(dir)...)
}

// attack: name a revision that git would read as an option (--output=FILE, -c, --git-dir) -> EINVALID before git runs, FILE never written
func TestAttackRevisionAsGitOption(t *testing.T) {
	w, dir := historyRepo(t)
	out := filepath.Join(t.TempDir(), "x")
	paths := append(repoGuard(dir), out)
	before := attacktest.Take(t, paths...)
	for _, rev := range []string{"--output=" + out, "-c", "--git-dir=/", " --output=" + out, "--end-of-options"} {
		_, err := w.ResolveTree(context.Background(), rev)
		assert.Equal(t, factory.EINVALID, factory.ErrorCode(err), "%q: %v", rev, err)
		_, err = w.ReadFileAt(context.Background(), rev, "README")
		assert.Equal(t, factory.EINVALID, factory.ErrorCode(err), "%q: %v", rev, err)
	}
	_, err := os.Stat(out)
	assert.True(t, os.IsNotExist(err))
	attacktest.Unchanged(t, before, paths...)
}

// attack: reach a host file through revision syntax (HEAD:../../etc/passwd, @{-1} with no previous branch, :/msg, a host path) -> EINVALID, nothing read or written
func TestAttackRevisionSyntaxReachesOutside(t *testing.T) {
	w, dir := historyRepo(t)
	before := attacktest.Take(t, append(repoGuard(dir), "/etc/passwd")...)
	ctx := context.Background()
	for _, rev := range []string{"HEAD:../../etc/passwd", "HEAD:README", "@{-1}", "/etc/passwd", "../../etc/passwd", "HEAD\n--output=/tmp/x", "HEAD\x00", ":/v2"} {
		_, err := w.ResolveTree(ctx, rev)
		assert.Equal(t, factory.EINVALID, factory.ErrorCode(err), "%q: %v", rev, err)
	}
	_, err := w.ReadFileAt(ctx, "HEAD", "../../etc/passwd")
	assert.Equal(t, factory.EINVALID, factory.ErrorCode(err))
	attacktest.Unchanged(t, before, append(repoGuard(dir), "/etc/passwd")...)
}
