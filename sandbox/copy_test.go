package sandbox

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/factory-dev/factory/sandbox/copies"
	"github.com/factory-dev/factory/sandbox/gitstore"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// rsTreeOfDir is the tree native git writes for dir's files, starting from
// an index holding tree (so tracked files in ignored folders count) and
// with the repository's ignore rules.
func rsTreeOfDir(t *testing.T, repo, dir, tree string) string {
	t.Helper()
	idx := filepath.Join(t.TempDir(), "index")
	env := []string{"GIT_INDEX_FILE=" + idx}
	rsGitEnvRun(t, repo, env, "", "read-tree", tree)
	rsGitEnvRun(t, repo, env, "", "--work-tree="+dir, "add", "-A")
	return strings.TrimSpace(rsGitEnvRun(t, repo, env, "", "write-tree"))
}

// rsIsolateRepo is a workspace with the kinds of entry a copy must carry.
func rsIsolateRepo(t *testing.T) (*Workspace, string) {
	w, dir := rsRepo(t)
	rsWrite(t, dir, ".gitignore", "build/\n*.log\n", 0o644)
	rsWrite(t, dir, "src/main.go", "package main\n", 0o644)
	rsWrite(t, dir, "src/deep/er/x.txt", "x\n", 0o644)
	rsWrite(t, dir, "run.sh", "#!/bin/sh\necho hi\n", 0o755)
	rsWrite(t, dir, "empty", "", 0o644)
	rsWrite(t, dir, "dup1", "same\n", 0o644)
	rsWrite(t, dir, "dup2", "same\n", 0o755)
	rsSymlink(t, dir, "link", "src/main.go")
	rsWrite(t, dir, "ünï cödé.txt", "unicode\n", 0o644)
	rsWrite(t, dir, "build/cache.bin", "ignored\n", 0o644)
	rsWrite(t, dir, "build/tracked.txt", "tracked in an ignored folder\n", 0o644)
	rsGit(t, dir, "add", "-f", "build/tracked.txt")
	rsWrite(t, dir, "app.log", "ignored\n", 0o644)
	return w, dir
}

func TestMaterializeWritesTheSnapshotTree(t *testing.T) {
	w, dir := rsIsolateRepo(t)
	ctx := context.Background()
	id, tree := rsSnap(t, w, dir)
	out := filepath.Join(t.TempDir(), "m")
	require.NoError(t, w.Materialize(ctx, id, out))
	assert.Equal(t, tree, rsTreeOfDir(t, dir, out, tree))
	_, err := os.Stat(filepath.Join(out, "build", "cache.bin"))
	assert.True(t, os.IsNotExist(err), "ignored files are not part of a snapshot")
	l, err := os.Readlink(filepath.Join(out, "link"))
	require.NoError(t, err)
	assert.Equal(t, "src/main.go", l)
	st, err := os.Stat(filepath.Join(out, "run.sh"))
	require.NoError(t, err)
	assert.NotZero(t, st.Mode()&0o100)

	// Not into a directory holding something.
	err = w.Materialize(ctx, id, out)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "not empty")
}

func TestIsolateOverlayAndPlainCopies(t *testing.T) {
	for _, plain := range []bool{false, true} {
		name := "overlay"
		if plain {
			name = "plain"
		}
		t.Run(name, func(t *testing.T) {
			w, dir := rsIsolateRepo(t)
			w.noOverlay = plain
			ctx := context.Background()
			id, tree := rsSnap(t, w, dir)
			live := rsFingerprint(t, dir)

			c, err := w.Isolate(ctx, id)
			require.NoError(t, err)
			if plain || !copies.OverlaySupported() {
				assert.Equal(t, CopyPlain, c.Kind())
			} else {
				assert.Equal(t, CopyOverlay, c.Kind())
			}
			assert.Equal(t, id, c.Base().ID)
			assert.Equal(t, tree, rsTreeOfDir(t, dir, c.Dir(), tree))

			// Writes in the copy stay there.
			rsWrite(t, c.Dir(), "src/main.go", "package changed\n", 0o644)
			rsWrite(t, c.Dir(), "new.txt", "new\n", 0o644)
			require.NoError(t, os.Remove(filepath.Join(c.Dir(), "run.sh")))
			assert.Equal(t, live, rsFingerprint(t, dir), "the live tree changed")

			// A second copy of the same tree starts clean (the cache was not
			// written through).
			c2, err := w.Isolate(ctx, id)
			require.NoError(t, err)
			assert.Equal(t, tree, rsTreeOfDir(t, dir, c2.Dir(), tree))
			require.NoError(t, c2.Close())

			// The copy's state can be captured as a snapshot.
			s, err := c.Snapshot(ctx, "")
			require.NoError(t, err)
			assert.Equal(t, rsTreeOfDir(t, dir, c.Dir(), tree), s.Tree)

			require.NoError(t, c.Close())
			require.NoError(t, c.Close())
			_, err = os.Stat(c.Dir())
			assert.True(t, os.IsNotExist(err), "the copy is still there")
			mounts, _ := os.ReadFile("/proc/self/mountinfo")
			assert.NotContains(t, string(mounts), c.Dir())
		})
	}
}

func TestIsolateLiveTree(t *testing.T) {
	w, dir := rsIsolateRepo(t)
	ctx := context.Background()
	rsWrite(t, dir, "uncommitted.txt", "fresh\n", 0o644)
	c, err := w.Isolate(ctx, "")
	require.NoError(t, err)
	defer c.Close()
	b, err := os.ReadFile(filepath.Join(c.Dir(), "uncommitted.txt"))
	require.NoError(t, err)
	assert.Equal(t, "fresh\n", string(b))
	assert.Equal(t, rsNativeTree(t, dir), c.Base().Tree)
}

func TestIsolateAnEmptyRepository(t *testing.T) {
	dir := t.TempDir()
	rsGit(t, dir, "init", "-q")
	w, err := Open(context.Background(), Config{Root: dir, TempDir: t.TempDir()})
	require.NoError(t, err)
	c, err := w.Isolate(context.Background(), "")
	require.NoError(t, err)
	defer c.Close()
	ents, err := os.ReadDir(c.Dir())
	require.NoError(t, err)
	assert.Empty(t, ents)
	assert.Equal(t, gitstore.EmptyTree.String(), c.Base().Tree)
}
