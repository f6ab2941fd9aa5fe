package sandbox

import (
	"context"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Helpers for the diff, restore, isolate and promote tests: real git
// repositories in t.TempDir, driven with the real git binary.

// rsGitEnv is a clean environment for git in tests: no user or system
// config, fixed identity and dates.
func rsGitEnv(extra ...string) []string {
	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=/nonexistent",
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_CONFIG_GLOBAL=/dev/null",
		"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com",
		"GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com",
		"GIT_AUTHOR_DATE=2026-01-01T00:00:00Z", "GIT_COMMITTER_DATE=2026-01-01T00:00:00Z",
		"LC_ALL=C",
	}
	return append(env, extra...)
}

func rsGit(t testing.TB, dir string, args ...string) string {
	t.Helper()
	return rsGitEnvRun(t, dir, nil, "", args...)
}

func rsGitEnvRun(t testing.TB, dir string, env []string, stdin string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = rsGitEnv(env...)
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	out, err := cmd.Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("git %v in %s: %v\n%s%s", args, dir, err, out, stderr)
	}
	return string(out)
}

// rsRepo makes an empty repository with one commit and opens it.
func rsRepo(t testing.TB) (*Workspace, string) {
	t.Helper()
	dir := t.TempDir()
	dir, _ = filepath.EvalSymlinks(dir)
	rsGit(t, dir, "init", "-q", "-b", "main")
	rsWrite(t, dir, "README", "hello\n", 0o644)
	rsGit(t, dir, "add", "README")
	rsGit(t, dir, "commit", "-q", "-m", "init")
	w, err := Open(context.Background(), Config{Root: dir, TempDir: t.TempDir()})
	require.NoError(t, err)
	return w, dir
}

func rsWrite(t testing.TB, dir, rel, content string, mode os.FileMode) {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(rel))
	require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
	_ = os.Remove(p)
	require.NoError(t, os.WriteFile(p, []byte(content), mode))
	require.NoError(t, os.Chmod(p, mode))
}

func rsSymlink(t testing.TB, dir, rel, target string) {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(rel))
	require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
	_ = os.RemoveAll(p)
	require.NoError(t, os.Symlink(target, p))
}

// rsNativeTree is the tree native git writes for the working tree:
// GIT_INDEX_FILE=tmp git add -A && git write-tree, starting from a copy of
// the real index so tracked-but-ignored files count.
func rsNativeTree(t testing.TB, dir string) string {
	t.Helper()
	idx := filepath.Join(t.TempDir(), "index")
	if b, err := os.ReadFile(filepath.Join(dir, ".git", "index")); err == nil {
		require.NoError(t, os.WriteFile(idx, b, 0o644))
	}
	env := []string{"GIT_INDEX_FILE=" + idx}
	rsGitEnvRun(t, dir, env, "", "add", "-A")
	return strings.TrimSpace(rsGitEnvRun(t, dir, env, "", "write-tree"))
}

// rsSnap captures the working tree with the workspace's Snapshot and
// requires its tree to be the one native git writes for the same state.
// It returns the snapshot id and tree hash.
func rsSnap(t testing.TB, w *Workspace, dir string) (string, string) {
	t.Helper()
	want := rsNativeTree(t, dir)
	s, err := w.Snapshot(context.Background(), "")
	require.NoError(t, err)
	require.Equal(t, want, s.Tree, "snapshot tree differs from git add -A && git write-tree")
	return s.ID, s.Tree
}

// rsState records what must not change: index bytes and mtime, HEAD, refs
// other than snapshots.
type rsState struct {
	index []byte
	mtime time.Time
	head  string
	refs  string
}

func rsCapture(t testing.TB, dir string) rsState {
	t.Helper()
	var s rsState
	p := filepath.Join(dir, ".git", "index")
	s.index, _ = os.ReadFile(p)
	if fi, err := os.Stat(p); err == nil {
		s.mtime = fi.ModTime()
	}
	h, _ := os.ReadFile(filepath.Join(dir, ".git", "HEAD"))
	s.head = string(h)
	refs := rsGit(t, dir, "for-each-ref", "--format=%(refname) %(objectname)", "refs/heads", "refs/tags")
	s.refs = refs
	return s
}

// rsRandomEdits applies n random edits (create, modify, delete, chmod,
// symlink, rename) to the files under dir, never touching .git.
func rsRandomEdits(t testing.TB, r *rand.Rand, dir string, n int) {
	t.Helper()
	names := []string{"a.txt", "b.go", "d/c.txt", "d/e/f.txt", "d/e/g.bin", "x y.txt", "ünï.txt", "d2/h.txt", "run.sh"}
	for i := 0; i < n; i++ {
		name := names[r.Intn(len(names))]
		p := filepath.Join(dir, filepath.FromSlash(name))
		switch r.Intn(7) {
		case 0, 1, 2:
			rsWrite(t, dir, name, rsRandText(r), 0o644)
		case 3:
			_ = os.Remove(p)
		case 4:
			if fi, err := os.Lstat(p); err == nil && fi.Mode().IsRegular() {
				require.NoError(t, os.Chmod(p, fi.Mode().Perm()^0o111))
			}
		case 5:
			rsSymlink(t, dir, name, "target-"+rsRandWord(r))
		case 6:
			if fi, err := os.Lstat(p); err == nil && fi.Mode().IsRegular() {
				to := filepath.Join(dir, filepath.FromSlash(names[r.Intn(len(names))]))
				if _, err := os.Lstat(to); os.IsNotExist(err) {
					require.NoError(t, os.MkdirAll(filepath.Dir(to), 0o755))
					require.NoError(t, os.Rename(p, to))
				}
			}
		}
	}
}

func rsRandWord(r *rand.Rand) string {
	const letters = "abcdefgh"
	b := make([]byte, 1+r.Intn(5))
	for i := range b {
		b[i] = letters[r.Intn(len(letters))]
	}
	return string(b)
}

func rsRandText(r *rand.Rand) string {
	var b strings.Builder
	n := r.Intn(40)
	for i := 0; i < n; i++ {
		b.WriteString(rsRandWord(r))
		b.WriteByte('\n')
	}
	if r.Intn(5) == 0 {
		b.WriteString("tail-without-newline")
	}
	if r.Intn(10) == 0 {
		b.WriteString("\x00binary")
	}
	return b.String()
}
