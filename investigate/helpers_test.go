package investigate_test

import (
	"context"
	"github.com/factory-dev/factory/internal/gittest"
	"github.com/factory-dev/factory/internal/testlock"
	"os"
	"path/filepath"
	"testing"

	"github.com/factory-dev/factory/invariants"
	"github.com/factory-dev/factory/sandbox"
	"github.com/factory-dev/factory/sandbox/proc"
	"github.com/factory-dev/factory/sandbox/testrun"
	"github.com/stretchr/testify/require"
)

func TestMain(m *testing.M) {
	proc.Init() // the native isolation path re-executes the test binary
	// Benchmarks on both sides of a change read another package's tests
	// as load: the packages that measure them take turns.
	os.Exit(testlock.Run(m, "benchmarks"))
}

// write writes files (slash paths) under dir.
func write(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for p, body := range files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		require.NoError(t, os.MkdirAll(filepath.Dir(full), 0o755))
		require.NoError(t, os.WriteFile(full, []byte(body), 0o644))
	}
}

// commit writes files and commits them all; it returns the commit id.
func commit(t testing.TB, dir, msg string, files map[string]string) string {
	t.Helper()
	write(t, dir, files)
	gittest.Out(t, dir, "add", "-A")
	gittest.Out(t, dir, "commit", "-q", "-m", msg)
	return gittest.Out(t, dir, "rev-parse", "HEAD")
}

// newRepo makes a git repository in a temporary directory.
func newRepo(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	gittest.Out(t, dir, "init", "-q", "-b", "main")
	return dir
}

// open gives the repository's workspace and a controller on the real
// sandbox, as cmd/factory wires them.
func open(t testing.TB, repo string) (*sandbox.Workspace, *invariants.Controller) {
	t.Helper()
	ws, err := sandbox.Open(context.Background(), sandbox.Config{Root: repo})
	require.NoError(t, err)
	c, err := invariants.New(invariants.ControllerConfig{Workspace: testrun.Workspace{Workspace: ws}, Runner: testrun.New(ws),
		CacheDir: filepath.Join(ws.GitDir(), "factory", "cache")})
	require.NoError(t, err)
	return ws, c
}

// hostState lists what an attack must leave alone: the live tree's files
// and the parts of .git a person relies on (snapshots and the cache are
// factory's own and may grow).
func hostState(repo string) []string {
	g := filepath.Join(repo, ".git")
	return []string{filepath.Join(repo, "go.mod"), filepath.Join(repo, "pwned"), filepath.Join(repo, "ui"), filepath.Join(repo, "db"), filepath.Join(repo, "p"),
		filepath.Join(repo, "factory.yaml"), filepath.Join(g, "HEAD"), filepath.Join(g, "config"), filepath.Join(g, "hooks"), filepath.Join(g, "index"), filepath.Join(g, "refs", "heads")}
}
