package tools_test

import (
	"context"
	"encoding/json"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/factory-dev/factory"
	"github.com/factory-dev/factory/invariants"
	"github.com/factory-dev/factory/invariants/rules"
	"github.com/factory-dev/factory/sandbox"
	"github.com/factory-dev/factory/tools"
	"github.com/factory-dev/factory/traces"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite the golden tool schemas in testdata/toolsnaps")

type nopRuns struct{ tools.Runs }

// fakeRuns starts runs without a server: the run is what it was asked for.
type fakeRuns struct{}

func (fakeRuns) Start(ctx context.Context, name, workflow string) (factory.Run, error) {
	return factory.Run{ID: "r-fake", Name: name, Workflow: workflow}, nil
}

// fakeGate is the gate with its judgements given by the test. Its rules
// are the real ones (factory.yaml as committed in ws) when ws is set, so
// the tools that read rules read them as they would from the real gate.
type fakeGate struct {
	ws       *sandbox.Workspace
	check    invariants.CheckResult
	checkErr error
	propose  invariants.ProposeResult
	propErr  error
	proposed []invariants.ProposeRequest // what Propose was asked, in order
	checked  []invariants.CheckRequest
}

var _ tools.Gate = (*fakeGate)(nil)

func (g *fakeGate) Rules(ctx context.Context) (*rules.Config, string, error) {
	if g.ws == nil {
		return &rules.Config{Version: 1}, "", nil
	}
	return rules.LoadTrusted(ctx, g.ws, g.ws.Root(), "")
}

func (g *fakeGate) RulesOrDetect(ctx context.Context, detect func(string) []factory.Suite) (*rules.Config, string, error) {
	if g.ws == nil {
		return &rules.Config{Version: 1}, "", nil
	}
	return rules.LoadOrDetect(ctx, g.ws, g.ws.Root(), "", detect)
}

func (g *fakeGate) Check(ctx context.Context, req invariants.CheckRequest) (invariants.CheckResult, error) {
	g.checked = append(g.checked, req)
	return g.check, g.checkErr
}

func (g *fakeGate) Propose(ctx context.Context, req invariants.ProposeRequest) (invariants.ProposeResult, error) {
	g.proposed = append(g.proposed, req)
	return g.propose, g.propErr
}

// allTools builds every tool over a real repository and run log, with a
// fake gate so that the tools that need one are registered too.
func allTools(t *testing.T) []tools.Tool {
	t.Helper()
	dir := t.TempDir()
	out, err := exec.Command("git", "init", "-q", dir).CombinedOutput()
	require.NoError(t, err, string(out))
	ctx := context.Background()
	ws, err := sandbox.Open(ctx, sandbox.Config{Root: dir})
	require.NoError(t, err)
	store, err := traces.Open(ctx, traces.Config{Path: filepath.Join(dir, ".git", "factory", "factory.db")})
	require.NoError(t, err)
	t.Cleanup(func() { store.Close() })
	return tools.New(tools.Deps{Store: store, Workspace: ws, Gate: &fakeGate{ws: ws}, Runs: nopRuns{}})
}

// everyTool is the whole tool surface. A tool added to the registry must
// be added here, and so to every test that walks the registry.
var everyTool = []string{
	"snapshot_create", "snapshot_list", "snapshot_diff", "snapshot_restore", "file_read",
	"patch_apply", "change_propose", "test_run", "invariant_list", "invariant_check",
	"run_start", "trace_note", "trace_query", "doctor",
	"regression_find", "flaky_check", "perf_compare", "invariant_drift",
}

func TestAllToolsAreRegisteredWithEveryDependency(t *testing.T) {
	assert.ElementsMatch(t, everyTool, tools.Names(allTools(t)))
}

// Without a gate, the tools that need one are left out; without a
// workspace, only the run log's tools and doctor remain.
func TestNewLeavesOutWhatDepsCannotServe(t *testing.T) {
	all := allTools(t)
	noGate := slices.DeleteFunc(slices.Clone(everyTool), func(n string) bool {
		return n == "change_propose" || n == "invariant_list" || n == "invariant_check" || n == "perf_compare" || n == "invariant_drift"
	})
	dir := t.TempDir()
	out, err := exec.Command("git", "init", "-q", dir).CombinedOutput()
	require.NoError(t, err, string(out))
	ws, err := sandbox.Open(context.Background(), sandbox.Config{Root: dir})
	require.NoError(t, err)
	assert.ElementsMatch(t, noGate, tools.Names(tools.New(tools.Deps{Workspace: ws, Runs: nopRuns{}})))
	assert.ElementsMatch(t, []string{"trace_note", "trace_query", "doctor"}, tools.Names(tools.New(tools.Deps{Gate: &fakeGate{}})))
	for _, tl := range all {
		assert.NotEmpty(t, tl.Toolset, "%s has no toolset", tl.Def.Name)
	}
}

// TestAnnotationsTellTheTruth walks the registry: every tool sets all four
// hints, read-only tools are never destructive, and the tools that change
// the workspace say so.
func TestAnnotationsTellTheTruth(t *testing.T) {
	all := allTools(t)
	require.ElementsMatch(t, everyTool, tools.Names(all), "the annotation test must see every tool")
	mustWrite := map[string]bool{"snapshot_restore": true, "patch_apply": true, "change_propose": true}
	seen := map[string]bool{}
	for _, tl := range all {
		a := tl.Def.Annotations
		name := tl.Def.Name
		assert.False(t, seen[name], "tool %s registered twice", name)
		seen[name] = true
		require.NotNil(t, a.ReadOnlyHint, "%s: readOnlyHint unset", name)
		require.NotNil(t, a.DestructiveHint, "%s: destructiveHint unset", name)
		require.NotNil(t, a.IdempotentHint, "%s: idempotentHint unset", name)
		require.NotNil(t, a.OpenWorldHint, "%s: openWorldHint unset", name)
		assert.NotEmpty(t, a.Title, "%s: no title", name)
		assert.NotEmpty(t, tl.Def.Description, "%s: no description", name)
		if *a.ReadOnlyHint {
			assert.False(t, *a.DestructiveHint, "%s: read-only and destructive", name)
		}
		if mustWrite[name] {
			assert.False(t, *a.ReadOnlyHint, "%s changes the workspace", name)
			assert.True(t, *a.DestructiveHint, "%s overwrites files", name)
		}
		assert.False(t, *a.OpenWorldHint, "%s: factory reaches nothing outside the workspace", name)
		assert.Equal(t, "object", tl.Def.OutputSchema.Type, "%s: no output schema", name)
	}
	for name := range mustWrite {
		assert.True(t, seen[name], "%s is not registered, so its annotations went unchecked", name)
	}
}

func TestReadOnlySelectionKeepsOnlyReadOnlyTools(t *testing.T) {
	all := allTools(t)
	ro, err := tools.Select(all, nil, true)
	require.NoError(t, err)
	require.NotEmpty(t, ro)
	for _, tl := range ro {
		assert.True(t, tl.ReadOnly(), tl.Def.Name)
	}
	assert.Less(t, len(ro), len(all))

	trace, err := tools.Select(all, []string{"trace"}, false)
	require.NoError(t, err)
	names := tools.Names(trace)
	assert.Contains(t, names, "trace_query")
	assert.Contains(t, names, "doctor", "doctor is in every selection")
	assert.NotContains(t, names, "snapshot_create")

	change, err := tools.Select(all, []string{"change"}, false)
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{"patch_apply", "change_propose", "doctor"}, tools.Names(change))

	_, err = tools.Select(all, []string{"tracing"}, false)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "workspace")
	_, err = tools.Select(all, []string{" all "}, false)
	require.NoError(t, err)
}

func TestToolsetsAreTheSelectableOnes(t *testing.T) {
	var names []string
	for _, ts := range tools.Toolsets() {
		names = append(names, ts[0])
		assert.NotEmpty(t, ts[1], "toolset %s has no description", ts[0])
	}
	assert.Equal(t, []string{"change", "invariants", "investigate", "test", "trace", "workspace"}, names)
}

// TestToolSchemasMatchGoldenFiles keeps what the model sees under review:
// go test ./tools -update rewrites testdata/toolsnaps.
func TestToolSchemasMatchGoldenFiles(t *testing.T) {
	for _, tl := range allTools(t) {
		got, err := json.MarshalIndent(tl.Def, "", "  ")
		require.NoError(t, err)
		got = append(got, '\n')
		path := filepath.Join("testdata", "toolsnaps", tl.Def.Name+".json")
		if *update {
			require.NoError(t, os.WriteFile(path, got, 0o644))
			continue
		}
		want, err := os.ReadFile(path)
		require.NoError(t, err, "no golden schema for %s: run go test ./tools -update and review it", tl.Def.Name)
		assert.JSONEq(t, string(want), string(got), "%s's schema changed: review, then go test ./tools -update", tl.Def.Name)
	}
}

// Every registered tool has a golden schema and every golden schema has a
// tool: a tool renamed or removed leaves no stale golden behind.
func TestEveryGoldenHasATool(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "toolsnaps", "*.json"))
	require.NoError(t, err)
	var goldens []string
	for _, f := range files {
		goldens = append(goldens, strings.TrimSuffix(filepath.Base(f), ".json"))
	}
	assert.ElementsMatch(t, tools.Names(allTools(t)), goldens,
		"registered tools and testdata/toolsnaps differ: run go test ./tools -update for a new tool, delete the golden of a removed one")
}
