package gitstore

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// nestedRepo is packRepo with a/b/ and c/ committed on top: directories
// three deep, for the TREE extension.
func nestedRepo(t *testing.T) string {
	t.Helper()
	dir, _ := packRepo(t)
	writeFiles(t, dir, "a/b", 3)
	writeFiles(t, dir, "c", 2)
	gitIn(t, dir, "add", "-A")
	gitIn(t, dir, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "more")
	return dir
}

// The TREE extension git writes names, for each directory, the tree that
// git rev-parse HEAD:<dir> gives; a directory changed in the index since
// (invalidated, count -1) is left out.
func TestCacheTreeMatchesGit(t *testing.T) {
	dir := nestedRepo(t)
	idx, err := readIndex(filepath.Join(dir, ".git", "index"), nil)
	require.NoError(t, err)
	require.NotNil(t, idx.trees, "git wrote no TREE extension")
	dirs := strings.Fields(gitIn(t, dir, "ls-tree", "-r", "-d", "--name-only", "HEAD"))
	require.Len(t, idx.trees, len(dirs)+1)
	require.Equal(t, gitIn(t, dir, "rev-parse", "HEAD^{tree}"), idx.trees[""].String())
	for _, d := range dirs {
		require.Equal(t, gitIn(t, dir, "rev-parse", "HEAD:"+d), idx.trees[d+"/"].String(), d)
	}

	// Staging a change invalidates its directory and those above it.
	require.NoError(t, os.WriteFile(filepath.Join(dir, "a", "b", "d1", "f.txt"), []byte("staged\n"), 0o644))
	gitIn(t, dir, "add", "a/b/d1/f.txt")
	idx, err = readIndex(filepath.Join(dir, ".git", "index"), nil)
	require.NoError(t, err)
	for _, gone := range []string{"", "a/", "a/b/", "a/b/d1/"} {
		require.NotContains(t, idx.trees, gone)
	}
	require.Equal(t, gitIn(t, dir, "rev-parse", "HEAD:c"), idx.trees["c/"].String())
	require.Equal(t, gitIn(t, dir, "rev-parse", "HEAD:a/b/d0"), idx.trees["a/b/d0/"].String())

	// A capture is the tree git add -A writes, with or without the cache.
	s, err := Open(Config{Root: dir, GitDir: filepath.Join(dir, ".git")})
	require.NoError(t, err)
	tree, err := s.Capture(context.Background(), dir)
	require.NoError(t, err)
	require.Equal(t, gitTree(t, dir), tree.String())
	gitIn(t, dir, "fsck", "--strict", "--no-dangling")
}

// A damaged TREE extension is ignored, not trusted.
func TestCacheTreeMalformed(t *testing.T) {
	for _, b := range []string{"\x00", "\x001 x\n", "\x002 0\nshort", "\x00-1 1\na\x00"} {
		m := cacheTree([]byte(b))
		require.Empty(t, m, "%q", b)
	}
}

// attack: the index's TREE extension names trees the object database lacks (a repository whose loose trees were deleted or never fetched) -> the capture stores them (git write-tree checks them too), and the tree is git add -A's
func TestAttackCacheTreeNamesMissingTrees(t *testing.T) {
	dir := nestedRepo(t)
	// Staging in c/ leaves a/ and a/b/ valid in the extension under an
	// invalidated root; then their tree objects go missing.
	require.NoError(t, os.WriteFile(filepath.Join(dir, "c", "d0", "f.txt"), []byte("staged\n"), 0o644))
	gitIn(t, dir, "add", "c")
	missing := []string{gitIn(t, dir, "rev-parse", "HEAD:a"), gitIn(t, dir, "rev-parse", "HEAD:a/b")}
	for _, h := range missing {
		require.NoError(t, os.Remove(filepath.Join(dir, ".git", "objects", h[:2], h[2:])))
	}
	idx, err := readIndex(filepath.Join(dir, ".git", "index"), nil)
	require.NoError(t, err)
	require.Contains(t, idx.trees, "a/")
	require.NotContains(t, idx.trees, "")

	s, err := Open(Config{Root: dir, GitDir: filepath.Join(dir, ".git")})
	require.NoError(t, err)
	tree, err := s.Capture(context.Background(), dir)
	require.NoError(t, err)
	for i, p := range []string{"a", "a/b"} {
		e, err := s.Lookup(tree, p)
		require.NoError(t, err)
		require.Equal(t, missing[i], e.Hash.String())
		require.Equal(t, "tree", gitIn(t, dir, "cat-file", "-t", e.Hash.String()), "%s is stored again", p)
	}
	require.Equal(t, gitTree(t, dir), tree.String())
}
