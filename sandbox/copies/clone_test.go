package copies

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/factory-dev/factory/internal/gittest"
	"github.com/factory-dev/factory/sandbox/gitstore"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// copyTree stands in for APFS's clonefile on Linux: a real, separate copy.
func copyTree(src, dst string) error { return exec.Command("cp", "-a", src, dst).Run() }

func write(t *testing.T, root, rel, content string, mode os.FileMode) {
	t.Helper()
	p := filepath.Join(root, rel)
	require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
	require.NoError(t, os.WriteFile(p, []byte(content), mode))
	require.NoError(t, os.Chmod(p, mode))
}

// tree commits the work tree and returns its tree id.
func tree(t *testing.T, repo string) plumbing.Hash {
	gittest.Out(t, repo, "add", "-A")
	gittest.Out(t, repo, "commit", "-qm", "x", "--allow-empty")
	return plumbing.NewHash(gittest.Out(t, repo, "rev-parse", "HEAD^{tree}"))
}

// listing is every path under dir with its kind, executable bit and
// content or link target.
func listing(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	require.NoError(t, filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		require.NoError(t, err)
		rel, _ := filepath.Rel(dir, p)
		info, err := d.Info()
		require.NoError(t, err)
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			out[rel] = "link " + target
		case d.IsDir():
			out[rel] = "dir"
		default:
			b, err := os.ReadFile(p)
			require.NoError(t, err)
			out[rel] = fmt.Sprintf("file %v %s", info.Mode()&0o100 != 0, b)
		}
		return nil
	}))
	return out
}

// TestCloneIncrementalMatchesMaterialize is the differential test of the
// macOS incremental copy (run here with cp -a standing in for clonefile):
// a clone of a cached tree with the difference written into it must be
// exactly the other tree written out whole, and the cached tree untouched.
func TestCloneIncrementalMatchesMaterialize(t *testing.T) {
	ctx := context.Background()
	repo := t.TempDir()
	gittest.Out(t, repo, "init", "-q")
	for i := range 80 {
		write(t, repo, fmt.Sprintf("pkg%d/f%d.go", i%7, i), fmt.Sprintf("package p\n// %d\n", i), 0o644)
	}
	write(t, repo, "bin/run.sh", "#!/bin/sh\n", 0o755)
	write(t, repo, "becomes_dir", "a file first", 0o644)
	require.NoError(t, os.Symlink("pkg0", filepath.Join(repo, "link")))
	base := tree(t, repo)

	write(t, repo, "pkg1/f1.go", "package p\n// edited\n", 0o644)
	write(t, repo, "bin/run.sh", "#!/bin/sh\n", 0o644) // loses its x bit
	require.NoError(t, os.RemoveAll(filepath.Join(repo, "pkg6")))
	require.NoError(t, os.Remove(filepath.Join(repo, "becomes_dir")))
	write(t, repo, "becomes_dir/inner.txt", "now a directory", 0o644)
	require.NoError(t, os.Remove(filepath.Join(repo, "link")))
	require.NoError(t, os.Symlink("pkg2", filepath.Join(repo, "link")))
	write(t, repo, "new/deep/file.txt", "added", 0o755)
	next := tree(t, repo)

	store, err := gitstore.Open(gitstore.Config{Root: repo, GitDir: filepath.Join(repo, ".git")})
	require.NoError(t, err)
	m := New(Config{Store: store, TempDir: t.TempDir()})
	d, err := m.cloneIncremental(ctx, next, t.TempDir(), copyTree)
	require.NoError(t, err)
	assert.Nil(t, d, "nothing cached: nothing to clone from")

	cached, release, err := m.cachedTree(ctx, base)
	require.NoError(t, err)
	release()
	cachedBefore := listing(t, cached)

	top := t.TempDir()
	d, err = m.cloneIncremental(ctx, next, top, copyTree)
	require.NoError(t, err)
	require.NotNil(t, d)
	assert.Equal(t, KindClone, d.Kind)
	want := filepath.Join(t.TempDir(), "want")
	require.NoError(t, m.Materialize(ctx, next, want))
	assert.Equal(t, listing(t, want), listing(t, d.Path))
	assert.Equal(t, cachedBefore, listing(t, cached), "the cached tree must not see the clone's writes")
	require.NoError(t, d.Close())
	_, err = os.Stat(top)
	assert.True(t, os.IsNotExist(err), "Close removes the copy")

	d, err = m.cloneIncremental(ctx, base, t.TempDir(), copyTree)
	require.NoError(t, err)
	assert.Nil(t, d, "a cached tree is cloned whole, not patched")
}
