package sandbox_test

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/factory-dev/factory/sandbox"
	"github.com/stretchr/testify/require"
)

// TestSnapshotFreshensOldObjects: a snapshot that reuses loose objects
// written long ago sets their mtime to now, as git does, so that `git
// prune` (which spares objects younger than two weeks) cannot delete them
// from under the new snapshot; recent objects are left alone.
func TestSnapshotFreshensOldObjects(t *testing.T) {
	isolateGit(t)
	ctx := context.Background()
	g := NewRandomWorkspace(t, 21)
	g.write("untracked/deep/file.md", "only in snapshots\n")
	s1, err := openWorkspace(t, g.Dir).Snapshot(ctx, "")
	require.NoError(t, err)
	old := time.Now().Add(-21 * 24 * time.Hour)
	filepath.WalkDir(filepath.Join(g.Dir, ".git", "objects"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			os.Chtimes(p, old, old)
		}
		return nil
	})
	g.write("new.md", "a change, so the snapshot is new\n")
	w, err := sandbox.Open(ctx, sandbox.Config{Root: g.Dir}) // a fresh server: no memory of objects
	require.NoError(t, err)
	_, err = w.Snapshot(ctx, "")
	require.NoError(t, err)
	sub := g.Git("rev-parse", s1.Tree+":untracked")
	fi, err := os.Stat(filepath.Join(g.Dir, ".git", "objects", sub[:2], sub[2:]))
	require.NoError(t, err)
	require.WithinDuration(t, time.Now(), fi.ModTime(), time.Hour, "a reused old subtree must be freshened")

	// Freshened ten minutes ago: a reuse now leaves it alone, which saves
	// a metadata write per reused tree.
	recent := time.Now().Add(-10 * time.Minute).Truncate(time.Second)
	p := filepath.Join(g.Dir, ".git", "objects", sub[:2], sub[2:])
	require.NoError(t, os.Chtimes(p, recent, recent))
	g.write("new.md", "another change\n")
	w, err = sandbox.Open(ctx, sandbox.Config{Root: g.Dir})
	require.NoError(t, err)
	_, err = w.Snapshot(ctx, "")
	require.NoError(t, err)
	fi, err = os.Stat(p)
	require.NoError(t, err)
	require.True(t, fi.ModTime().Equal(recent), "mtime %v, want %v", fi.ModTime(), recent)
}
