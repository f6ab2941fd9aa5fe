package invariants_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/factory-dev/factory"
	"github.com/factory-dev/factory/internal/attacktest"
	"github.com/factory-dev/factory/invariants"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func gitOut(t *testing.T, dir string, args ...string) string {
	t.Helper()
	out, err := exec.Command("git", append([]string{"-C", dir, "-c", "user.name=t", "-c", "user.email=t@example.com"}, args...)...).CombinedOutput()
	require.NoError(t, err, "git %v: %s", args, out)
	return strings.TrimSpace(string(out))
}

// withHistory is testdata/moving with a second commit, so HEAD~1 exists.
func withHistory(t *testing.T) string {
	repo := invariants.RepoFromForTest(t, "testdata/moving")
	require.NoError(t, os.WriteFile(filepath.Join(repo, "notes.txt"), []byte("second\n"), 0o644))
	gitOut(t, repo, "add", "notes.txt")
	gitOut(t, repo, "commit", "-qm", "second")
	return repo
}

func TestSandboxCheckTakesRevisions(t *testing.T) {
	repo := withHistory(t)
	ws, c, _, _ := openSandbox(t, repo)
	ctx := context.Background()
	res, err := c.Check(ctx, invariants.CheckRequest{Snapshot: "HEAD~1", Baseline: "HEAD"})
	require.NoError(t, err)
	assert.True(t, res.Passed, "%+v", res.Verdicts)
	target, err := ws.Resolve(ctx, res.Snapshot)
	require.NoError(t, err)
	assert.Equal(t, gitOut(t, repo, "rev-parse", "HEAD~1^{tree}"), target.Tree)
	base, err := ws.Resolve(ctx, res.Baseline)
	require.NoError(t, err)
	assert.Equal(t, gitOut(t, repo, "rev-parse", "HEAD^{tree}"), base.Tree)
}

// attack: give invariant_check a baseline that git would read as an option, or that names no commit -> EINVALID naming what to give, repository byte-identical
func TestAttackCheckBaselineRevision(t *testing.T) {
	repo := withHistory(t)
	_, c, _, _ := openSandbox(t, repo)
	out := filepath.Join(t.TempDir(), "x")
	g := filepath.Join(repo, ".git")
	paths := []string{filepath.Join(g, "index"), filepath.Join(g, "HEAD"), filepath.Join(g, "refs", "heads"), filepath.Join(repo, "notes.txt"), out}
	before := attacktest.Take(t, paths...)
	for _, rev := range []string{"--output=" + out, "HEAD~99", "HEAD:../../etc/passwd", "@{-1}"} {
		_, err := c.Check(context.Background(), invariants.CheckRequest{Snapshot: "HEAD", Baseline: rev})
		assert.Equal(t, factory.EINVALID, factory.ErrorCode(err), "%q: %v", rev, err)
		assert.Contains(t, factory.ErrorMessage(err), "snapshot_list", rev)
	}
	attacktest.Unchanged(t, before, paths...)
}
