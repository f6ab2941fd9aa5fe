package invariants_test

// These tests run the controller on the real sandbox. Importing sandbox
// here is a test-only import (package invariants_test): the invariants
// package itself never imports sandbox. The two adapters below are what
// cmd/factory wires in.

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/factory-dev/factory"
	"github.com/factory-dev/factory/invariants"
	"github.com/factory-dev/factory/sandbox"
	"github.com/factory-dev/factory/sandbox/proc"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMain(m *testing.M) {
	proc.Init() // the native isolation path re-executes the test binary
	os.Exit(m.Run())
}

// sbWorkspace adapts *sandbox.Workspace to invariants.Workspace: Isolate
// returns the copy's directory and its Close, ApplyInDir applies a patch
// through os.Root with the sandbox's patch engine.
type sbWorkspace struct{ *sandbox.Workspace }

func (w sbWorkspace) Isolate(ctx context.Context, id string) (invariants.Copy, error) {
	return w.Workspace.Isolate(ctx, id)
}

func (w sbWorkspace) Commit(ctx context.Context, tree, message string) (string, error) {
	return w.Workspace.Commit(ctx, sandbox.CommitRequest{Tree: tree, Message: message})
}

var _ invariants.Workspace = sbWorkspace{}

// sbRunner adapts the sandbox to invariants.Runner: commands run through
// proc.Run confined to their directory, suites through Workspace.RunTests on the snapshot.
type sbRunner struct{ ws *sandbox.Workspace }

func (r sbRunner) RunCommand(ctx context.Context, c invariants.Command) (invariants.CommandResult, error) {
	env := proc.BaseEnv(c.Policy.EnvAllow)
	keys := make([]string, 0, len(c.Env))
	for k := range c.Env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		env = append(env, k+"="+c.Env[k])
	}
	pc := proc.Cmd{Argv: c.Argv, Dir: c.Dir, Env: env, Timeout: c.Timeout, MaxOutput: c.MaxOutput}
	// the copy is shown at the live tree's path, so the go build cache
	// (keyed on absolute paths) hits as for a build in the workspace;
	// res.Dir tells the gates where the command saw its directory
	tree := c.Root
	if tree == "" {
		tree = c.Dir
	}
	pc.Confine = &proc.Confinement{Policy: c.Policy, Writable: []string{tree}}
	if tree != r.ws.Root() {
		pc.Confine.MountAs = proc.Mount{Src: tree, Dst: r.ws.Root()}
	}
	res, err := proc.Run(ctx, pc)
	if err != nil {
		return invariants.CommandResult{}, err
	}
	return invariants.CommandResult{ExitCode: res.ExitCode, Stdout: res.Stdout, Stderr: res.Stderr, TimedOut: res.TimedOut, Duration: res.Duration, CPU: res.CPU, Dir: res.Dir}, nil
}

func (r sbRunner) RunSuite(ctx context.Context, run invariants.SuiteRun) (factory.TestReport, error) {
	rep, _, err := r.ws.RunTests(ctx, sandbox.TestRun{Suite: run.Suite, Policy: run.Policy, Request: factory.TestRequest{Snapshot: run.Snapshot, Reruns: -1}})
	return rep, err
}

var _ invariants.Runner = sbRunner{}

func openSandbox(t testing.TB, repo string) (*sandbox.Workspace, *invariants.Controller, *invariants.StepRecorderForTest, map[string]func()) {
	t.Helper()
	ws, err := sandbox.Open(context.Background(), sandbox.Config{Root: repo})
	require.NoError(t, err)
	hooks := map[string]func(){}
	steps := invariants.NewStepRecorderForTest(hooks)
	c, err := invariants.New(invariants.ControllerConfig{Workspace: sbWorkspace{ws}, Runner: sbRunner{ws}, Steps: steps,
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
