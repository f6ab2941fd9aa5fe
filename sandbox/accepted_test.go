package sandbox_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/factory-dev/factory/internal/attacktest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// acceptedRepo is a committed repository with one file, opened.
func acceptedRepo(t *testing.T) (string, func(args ...string) string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "repo")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	g := func(args ...string) string { return strings.TrimSpace(apGit(t, dir, args...)) }
	g("init", "-q", "-b", "main")
	require.NoError(t, os.WriteFile(filepath.Join(dir, "a.txt"), []byte("one\n"), 0o644))
	g("add", "-A")
	g("-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "first")
	return dir, g
}

func TestAcceptedTreesAreRecordedByTree(t *testing.T) {
	dir, g := acceptedRepo(t)
	w := openWorkspace(t, dir)
	ctx := context.Background()

	st, err := w.Gate(ctx, "")
	require.NoError(t, err)
	assert.Equal(t, g("rev-parse", "HEAD^{tree}"), st.Head)
	assert.True(t, st.LiveAccepted && st.IndexAccepted, "a clean tree is HEAD's: nothing new to commit")
	assert.False(t, st.HeadAccepted)

	require.NoError(t, os.WriteFile(filepath.Join(dir, "a.txt"), []byte("two\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "new.txt"), []byte("new\n"), 0o644))
	st, err = w.Gate(ctx, "")
	require.NoError(t, err)
	assert.False(t, st.LiveAccepted)
	assert.True(t, st.IndexAccepted, "nothing staged yet")
	paths, total, err := w.Unjudged(ctx, st, 10)
	require.NoError(t, err)
	assert.Equal(t, []string{"a.txt", "new.txt"}, paths)
	assert.Equal(t, 2, total)

	s, err := w.Snapshot(ctx, "judged")
	require.NoError(t, err)
	require.Equal(t, s.Tree, st.Live, "the hook's live tree is the snapshot's")
	require.NoError(t, w.MarkAccepted(ctx, s.ID))
	require.NoError(t, w.MarkAccepted(ctx, s.ID), "marking twice is fine")
	commit, ok := w.Accepted(ctx, s.Tree)
	assert.True(t, ok)
	assert.Equal(t, s.Commit, commit)
	assert.Equal(t, s.Commit, g("rev-parse", "refs/factory/accepted/"+s.Tree))

	g("add", "-A")
	st, err = w.Gate(ctx, "")
	require.NoError(t, err)
	assert.True(t, st.LiveAccepted && st.IndexAccepted)
	assert.Equal(t, s.Tree, st.Index)

	// a later edit is what is unjudged, not everything since HEAD
	require.NoError(t, os.WriteFile(filepath.Join(dir, "later.txt"), []byte("x\n"), 0o644))
	st, err = w.Gate(ctx, "")
	require.NoError(t, err)
	paths, _, err = w.Unjudged(ctx, st, 10)
	require.NoError(t, err)
	assert.Equal(t, []string{"later.txt"}, paths)
}

// attack: an agent forges the gate's record: a ref named after its
// ungated tree pointing at an ordinary commit, or at a snapshot of another
// tree -> neither counts as accepted
func TestAttackForgedAcceptedRefsDoNotCount(t *testing.T) {
	dir, g := acceptedRepo(t)
	w := openWorkspace(t, dir)
	ctx := context.Background()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "a.txt"), []byte("ungated\n"), 0o644))
	st, err := w.Gate(ctx, "")
	require.NoError(t, err)
	g("update-ref", "refs/factory/accepted/"+st.Live, "HEAD") // an ordinary commit
	_, ok := w.Accepted(ctx, st.Live)
	assert.False(t, ok, "a ref at a commit factory did not write")

	other, err := w.SnapshotRevision(ctx, "HEAD", "")
	require.NoError(t, err)
	g("update-ref", "refs/factory/accepted/"+st.Live, other.Commit) // a snapshot, of another tree
	_, ok = w.Accepted(ctx, st.Live)
	assert.False(t, ok, "a snapshot whose tree is not the ref's name")
	st, err = w.Gate(ctx, "")
	require.NoError(t, err)
	assert.False(t, st.LiveAccepted)
}

// attack: an agent relies on the hook's index check to rewrite the index
// (git write-tree stores its cache-tree into the index it reads) -> the
// index, HEAD and branches are byte-identical afterwards, and the tree is
// the one git write-tree computes
func TestAttackIndexTreeLeavesTheIndexAlone(t *testing.T) {
	dir, g := acceptedRepo(t)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "b.txt"), []byte("b\n"), 0o644))
	g("add", "b.txt")
	w := openWorkspace(t, dir)
	gitDir := filepath.Join(dir, ".git")
	before := attacktest.Take(t, filepath.Join(gitDir, "index"), filepath.Join(gitDir, "HEAD"), filepath.Join(gitDir, "refs", "heads"), dir+"/a.txt", dir+"/b.txt")
	tree, err := w.IndexTree(context.Background(), "")
	require.NoError(t, err)
	attacktest.Unchanged(t, before, filepath.Join(gitDir, "index"), filepath.Join(gitDir, "HEAD"), filepath.Join(gitDir, "refs", "heads"), dir+"/a.txt", dir+"/b.txt")
	assert.Equal(t, g("write-tree"), tree)
}
