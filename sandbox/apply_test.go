package sandbox_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/factory-dev/factory"
	"github.com/factory-dev/factory/sandbox"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func apGit(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "GIT_CONFIG_NOSYSTEM=1",
		"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@t", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@t"}
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "git %v: %s", args, out)
	return string(out)
}

// apRepo makes a committed repository with a few files and an outside
// directory next to it, reachable through a symlink "out".
func apRepo(t *testing.T) (dir, outside string) {
	base := t.TempDir()
	dir, outside = filepath.Join(base, "ws"), filepath.Join(base, "outside")
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "src"), 0o755))
	require.NoError(t, os.MkdirAll(outside, 0o755))
	var b strings.Builder
	for i := 1; i <= 30; i++ {
		fmt.Fprintf(&b, "line %d\n", i)
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "src", "a.txt"), []byte(b.String()), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "gone.txt"), []byte("bye\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(outside, "secret.txt"), []byte("secret\n"), 0o644))
	require.NoError(t, os.Symlink(outside, filepath.Join(dir, "out")))
	apGit(t, dir, "init", "-q")
	apGit(t, dir, "add", "-A")
	apGit(t, dir, "commit", "-qm", "base")
	return dir, outside
}

// apFingerprint hashes every path, mode, mtime and content under dir,
// .git excluded (snapshots write objects there).
func apFingerprint(t *testing.T, dir string) string {
	h := sha256.New()
	require.NoError(t, filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == ".git" {
			return filepath.SkipDir
		}
		info, err := os.Lstat(p)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s %v %d\n", p, info.Mode(), info.ModTime().UnixNano())
		if info.Mode().IsRegular() {
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			h.Write(data)
		}
		return nil
	}))
	return hex.EncodeToString(h.Sum(nil))
}

const apGood = `diff --git a/src/a.txt b/src/a.txt
--- a/src/a.txt
+++ b/src/a.txt
@@ -10,7 +10,7 @@
 line 10
 line 11
 line 12
-line 13
+line thirteen
 line 14
 line 15
 line 16
diff --git a/gone.txt b/gone.txt
deleted file mode 100644
--- a/gone.txt
+++ /dev/null
@@ -1 +0,0 @@
-bye
diff --git a/src/new.txt b/src/new.txt
new file mode 100644
--- /dev/null
+++ b/src/new.txt
@@ -0,0 +1 @@
+hello
`

func TestApplyPatchSnapshotsAndRestore(t *testing.T) {
	ctx := context.Background()
	dir, _ := apRepo(t)
	w, err := sandbox.Open(ctx, sandbox.Config{Root: dir})
	require.NoError(t, err)
	orig, err := os.ReadFile(filepath.Join(dir, "src", "a.txt"))
	require.NoError(t, err)

	rep, err := w.ApplyPatch(ctx, factory.PatchRequest{Patch: apGood})
	require.NoError(t, err)
	require.True(t, rep.Applied)
	require.Len(t, rep.Files, 3)
	require.NotEmpty(t, rep.Before)
	require.NotEmpty(t, rep.After)
	require.NotEqual(t, rep.Before, rep.After)

	got, err := os.ReadFile(filepath.Join(dir, "src", "a.txt"))
	require.NoError(t, err)
	assert.Contains(t, string(got), "line thirteen\n")
	assert.NoFileExists(t, filepath.Join(dir, "gone.txt"))
	assert.FileExists(t, filepath.Join(dir, "src", "new.txt"))

	// The after snapshot is the tree git itself would stage now.
	after, err := w.Resolve(ctx, rep.After)
	require.NoError(t, err)
	apGit(t, dir, "add", "-A")
	assert.Equal(t, strings.TrimSpace(apGit(t, dir, "write-tree")), after.Tree)
	apGit(t, dir, "reset", "-q")

	// Restoring the before snapshot undoes the patch.
	_, err = w.Restore(ctx, rep.Before, nil)
	require.NoError(t, err)
	got, err = os.ReadFile(filepath.Join(dir, "src", "a.txt"))
	require.NoError(t, err)
	assert.Equal(t, string(orig), string(got))
	assert.FileExists(t, filepath.Join(dir, "gone.txt"))
	assert.NoFileExists(t, filepath.Join(dir, "src", "new.txt"))
}

func TestApplyPatchDryRun(t *testing.T) {
	ctx := context.Background()
	dir, _ := apRepo(t)
	w, err := sandbox.Open(ctx, sandbox.Config{Root: dir})
	require.NoError(t, err)
	before := apFingerprint(t, dir)
	snaps0, err := w.Snapshots(ctx, sandbox.SnapshotFilter{})
	require.NoError(t, err)
	rep, err := w.ApplyPatch(ctx, factory.PatchRequest{Patch: apGood, DryRun: true})
	require.NoError(t, err)
	assert.True(t, rep.Applied)
	assert.True(t, rep.DryRun)
	assert.Empty(t, rep.Before)
	assert.Equal(t, before, apFingerprint(t, dir))
	snaps, err := w.Snapshots(ctx, sandbox.SnapshotFilter{})
	require.NoError(t, err)
	assert.Len(t, snaps, len(snaps0), "a dry run takes no snapshot")
}

// TestApplyPatchRefusedLeavesTree: refused patches leave the live tree with
// the same snapshot tree hash and the same mtimes, and write nothing
// outside.
func TestApplyPatchRefusedLeavesTree(t *testing.T) {
	ctx := context.Background()
	dir, outside := apRepo(t)
	w, err := sandbox.Open(ctx, sandbox.Config{Root: dir})
	require.NoError(t, err)
	s0, err := w.Snapshot(ctx, "")
	require.NoError(t, err)
	fp0, out0 := apFingerprint(t, dir), apFingerprint(t, outside)

	last := "--- a/gone.txt\n+++ b/gone.txt\n@@ -1 +1 @@\n-not what is there\n+x\n"
	cases := map[string]struct{ patch, code string }{
		"traversal":              {"--- /dev/null\n+++ b/../evil.txt\n@@ -0,0 +1 @@\n+x\n", factory.EINVALID},
		".git hooks":             {"--- /dev/null\n+++ b/.git/hooks/pre-commit\n@@ -0,0 +1 @@\n+x\n", factory.EINVALID},
		"through outside link":   {"--- a/out/secret.txt\n+++ b/out/secret.txt\n@@ -1 +1 @@\n-secret\n+owned\n", factory.EINVALID},
		"fails on its last file": {apGood + last, factory.ECONFLICT},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			rep, err := w.ApplyPatch(ctx, factory.PatchRequest{Patch: tc.patch})
			require.Error(t, err)
			assert.Equal(t, tc.code, factory.ErrorCode(err), "%v", err)
			assert.False(t, rep.Applied)
			assert.Empty(t, rep.Before, "a refused patch takes no snapshot")
			s, err := w.Snapshot(ctx, "")
			require.NoError(t, err)
			assert.Equal(t, s0.Tree, s.Tree)
			assert.Equal(t, fp0, apFingerprint(t, dir))
			assert.Equal(t, out0, apFingerprint(t, outside))
		})
	}
}

func TestCopyApplySnapshotClose(t *testing.T) {
	ctx := context.Background()
	dir, _ := apRepo(t)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "f.txt"), []byte("a\r\nb\r\n"), 0o644))
	w := openWorkspace(t, dir)
	live := apFingerprint(t, dir)
	c, err := w.Isolate(ctx, "")
	require.NoError(t, err)
	rep, err := c.Apply(ctx, factory.PatchRequest{
		Patch: "--- f.txt\n+++ f.txt\n@@ -1,2 +1,2 @@\n a\n-b\n+c\n",
	})
	require.NoError(t, err)
	assert.True(t, rep.Applied)
	assert.Empty(t, rep.Before, "a copy takes no snapshots")
	got, err := os.ReadFile(filepath.Join(c.Dir(), "f.txt"))
	require.NoError(t, err)
	assert.Equal(t, "a\r\nc\r\n", string(got), "the CRLF file stays CRLF")
	assert.Equal(t, live, apFingerprint(t, dir), "the live tree changed")

	s, err := c.Snapshot(ctx, "in the copy")
	require.NoError(t, err)
	assert.NotEqual(t, c.Base().Tree, s.Tree)
	b, err := w.ReadFileAt(ctx, s.Commit, "f.txt")
	require.NoError(t, err)
	assert.Equal(t, "a\r\nc\r\n", string(b), "the snapshot holds the patched file")

	require.NoError(t, c.Close())
	require.NoError(t, c.Close(), "a second Close is harmless")
	_, err = os.Stat(c.Dir())
	assert.True(t, os.IsNotExist(err), "Close removes the copy")
	_, err = c.Apply(ctx, factory.PatchRequest{Patch: "x"})
	assert.Equal(t, factory.EINVALID, factory.ErrorCode(err))
}

// attack: apply an ungated patch to the live tree while a gated change is landing (between its last check and its promotion) -> patch_apply waits for the landing to finish, so what lands is exactly what was gated
func TestAttackApplyPatchDuringLanding(t *testing.T) {
	root, _ := apRepo(t)
	w, err := sandbox.Open(context.Background(), sandbox.Config{Root: root})
	require.NoError(t, err)
	unlock, err := w.LockLanding(context.Background())
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() {
		_, err := w.ApplyPatch(context.Background(), factory.PatchRequest{Patch: "--- a/gone.txt\n+++ b/gone.txt\n@@ -1 +1 @@\n-bye\n+two\n"})
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("patch_apply wrote the live tree while a landing held it (err %v)", err)
	case <-time.After(300 * time.Millisecond):
	}
	b, err := os.ReadFile(filepath.Join(root, "gone.txt"))
	require.NoError(t, err)
	require.Equal(t, "bye\n", string(b), "the live tree changed during the landing")
	unlock()
	require.NoError(t, <-done)
	b, err = os.ReadFile(filepath.Join(root, "gone.txt"))
	require.NoError(t, err)
	require.Equal(t, "two\n", string(b))
}
