package invariants_test

// These tests run the controller on the real sandbox. Importing sandbox
// here is a test-only import (package invariants_test): the invariants
// package itself never imports sandbox. sandbox/testrun's gates.Runner and
// Workspace are what cmd/factory wires in.

import (
	"context"
	"github.com/factory-dev/factory/internal/testlock"
	"os"
	"path/filepath"
	"testing"

	"github.com/factory-dev/factory"
	"github.com/factory-dev/factory/invariants"
	"github.com/factory-dev/factory/sandbox"
	"github.com/factory-dev/factory/sandbox/proc"
	"github.com/factory-dev/factory/sandbox/testrun"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMain(m *testing.M) {
	proc.Init() // the native isolation path re-executes the test binary
	// Benchmarks on both sides of a change read another package's tests
	// as load: the packages that measure them take turns.
	code := testlock.Run(m, "benchmarks")
	if bigRepo != "" {
		os.RemoveAll(bigRepo) // the benchmarks' 20,000-file repository
	}
	os.Exit(code)
}

func openSandbox(t testing.TB, repo string) (*sandbox.Workspace, *invariants.Controller, *invariants.StepRecorderForTest, map[string]func()) {
	t.Helper()
	ws, err := sandbox.Open(context.Background(), sandbox.Config{Root: repo})
	require.NoError(t, err)
	hooks := map[string]func(){}
	steps := invariants.NewStepRecorderForTest(hooks)
	c, err := invariants.New(invariants.ControllerConfig{Workspace: testrun.Workspace{Workspace: ws}, Runner: testrun.New(ws), Steps: steps,
		CacheDir: filepath.Join(ws.GitDir(), "factory", "cache")})
	require.NoError(t, err)
	return ws, c, steps, hooks
}

func TestSandboxGatesMatrix(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go test, vet and benchmarks")
	}
	repo := invariants.RepoFromForTest(t, "../examples/gates")
	ws, c, _, _ := openSandbox(t, repo)
	invariants.RunGatesMatrixForTest(t, repo, c, func(id string) (factory.Snapshot, error) { return ws.Resolve(context.Background(), id) })
}

func TestSandboxProposeWhileTheLiveTreeMoved(t *testing.T) {
	repo := invariants.RepoFromForTest(t, "testdata/moving")
	_, c, _, hooks := openSandbox(t, repo)
	ctx := context.Background()

	t.Run("clean merge", func(t *testing.T) {
		p := invariants.MakePatchForTest(t, repo, func(d string) { invariants.ReplaceInForTest(t, d, "a/a.go", "return 1", "return 10") })
		hooks["promote"] = func() {
			invariants.WriteFilesForTest(t, repo, map[string]string{"b/b.go": "package b\n\nfunc B() int { return 20 }\n", "notes.txt": "mine\n"})
		}
		res, err := c.Propose(ctx, invariants.ProposeRequest{Patch: p})
		require.NoError(t, err)
		require.True(t, res.Accepted, res.Reason)
		assert.Equal(t, "package a\n\nfunc A() int { return 10 }\n", readFile(t, repo, "a/a.go"))
		assert.Equal(t, "package b\n\nfunc B() int { return 20 }\n", readFile(t, repo, "b/b.go"), "the live edit is kept")
		assert.Equal(t, "mine\n", readFile(t, repo, "notes.txt"))
		assert.Equal(t, []string{"a/a.go"}, res.Written)
	})
	t.Run("conflict changes nothing", func(t *testing.T) {
		p := invariants.MakePatchForTest(t, repo, func(d string) { invariants.ReplaceInForTest(t, d, "a/a.go", "return 10", "return 100") })
		var moved map[string]string
		hooks["promote"] = func() {
			invariants.WriteFilesForTest(t, repo, map[string]string{"a/a.go": "package a\n\nfunc A() int { return 7 }\n"})
			moved = invariants.TreeStateForTest(t, repo)
		}
		res, err := c.Propose(ctx, invariants.ProposeRequest{Patch: p})
		require.NoError(t, err)
		assert.False(t, res.Accepted)
		assert.Contains(t, res.Conflict, "a/a.go")
		invariants.RequireVerdictForTest(t, res.Verdicts, "builds", factory.VerdictPass)
		assert.Equal(t, moved, invariants.TreeStateForTest(t, repo), "nothing written")
	})
}

func TestSandboxCheckIsCachedAndReadOnly(t *testing.T) {
	repo := invariants.RepoFromForTest(t, "testdata/moving")
	_, c, _, _ := openSandbox(t, repo)
	before := invariants.TreeStateForTest(t, repo)
	res, err := c.Check(context.Background(), invariants.CheckRequest{})
	require.NoError(t, err)
	assert.True(t, res.Passed, "%+v", res.Verdicts)
	invariants.RequireVerdictForTest(t, res.Verdicts, "builds", factory.VerdictPass, "build.exit_code = 0")
	again, err := c.Check(context.Background(), invariants.CheckRequest{})
	require.NoError(t, err)
	assert.True(t, again.Cached)
	assert.Equal(t, before, invariants.TreeStateForTest(t, repo), "check never touches the live tree")
}

func readFile(t testing.TB, root, p string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, p))
	require.NoError(t, err)
	return string(b)
}
