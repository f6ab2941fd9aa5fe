package patch

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/factory-dev/factory"
	"github.com/stretchr/testify/require"
)

// filesFingerprint hashes every file and symlink under dir with its mode,
// content and mtime (directories' own mtimes are left out: creating and
// removing a temporary file changes them).
func filesFingerprint(t *testing.T, dir string) string {
	h := sha256.New()
	require.NoError(t, filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			if err == nil {
				fmt.Fprintf(h, "dir %s\n", p)
			}
			return err
		}
		info, err := os.Lstat(p)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s %v %d\n", p, info.Mode(), info.ModTime().UnixNano())
		if info.Mode().IsRegular() {
			data, _ := os.ReadFile(p)
			h.Write(data)
		}
		return nil
	}))
	return hex.EncodeToString(h.Sum(nil))
}

// TestRollback makes one write fail midway (after others succeeded, in
// parallel) and requires every file back as it was: content, mode and
// mtime, deleted files restored, created files and directories removed.
func TestRollback(t *testing.T) {
	dir := t.TempDir()
	var p string
	for _, n := range []string{"a", "b", "c", "d", "e", "f", "g", "h"} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, n+".txt"), []byte("line 1\nline 2\n"), 0o644))
		p += fmt.Sprintf("--- a/%s.txt\n+++ b/%s.txt\n@@ -1,2 +1,2 @@\n line 1\n-line 2\n+line two\n", n, n)
	}
	require.NoError(t, os.Chmod(filepath.Join(dir, "h.txt"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "gone.txt"), []byte("bye\n"), 0o600))
	p += "--- a/gone.txt\n+++ /dev/null\n@@ -1 +0,0 @@\n-bye\n"
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "sub", "deeper"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "sub", "deeper", "only.txt"), []byte("only\n"), 0o644))
	p += "--- a/sub/deeper/only.txt\n+++ /dev/null\n@@ -1 +0,0 @@\n-only\n"
	p += "--- /dev/null\n+++ b/new/deep/n.txt\n@@ -0,0 +1 @@\n+new\n"
	before := filesFingerprint(t, dir)

	failing := Options{beforeSwap: func(path string) error {
		if path == "f.txt" {
			return errors.New("disk full (injected)")
		}
		return nil
	}}
	root, err := os.OpenRoot(dir)
	require.NoError(t, err)
	defer root.Close()
	rep, err := Apply(context.Background(), root, p, failing)
	require.Error(t, err)
	require.Equal(t, factory.EINTERNAL, factory.ErrorCode(err))
	require.Contains(t, err.Error(), "every file was restored")
	require.False(t, rep.Applied)
	require.Equal(t, before, filesFingerprint(t, dir))
	require.NoDirExists(t, filepath.Join(dir, "new"))

	// Deleting the only file of a directory removes the directory, as git
	// apply does.
	require.DirExists(t, filepath.Join(dir, "sub", "deeper"))

	// Without the fault the same patch applies.
	rep, err = Apply(context.Background(), root, p, Options{})
	require.NoError(t, err)
	require.True(t, rep.Applied)
	require.FileExists(t, filepath.Join(dir, "new", "deep", "n.txt"))
	require.NoDirExists(t, filepath.Join(dir, "sub"))
	info, err := os.Stat(filepath.Join(dir, "h.txt"))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o755), info.Mode().Perm(), "modified files keep their mode")
}
