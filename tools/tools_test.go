package tools_test

import (
	"context"
	"encoding/json"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/factory-dev/factory/sandbox"
	"github.com/factory-dev/factory/tools"
	"github.com/factory-dev/factory/traces"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite the golden tool schemas in testdata/toolsnaps")

type nopRuns struct{ tools.Runs }

// allTools builds every tool over a real repository and run log.
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
	return tools.New(tools.Deps{Store: store, Workspace: ws, Runs: nopRuns{}})
}

// TestAnnotationsTellTheTruth walks the registry: every tool sets all four
// hints, read-only tools are never destructive, and the tools that change
// the workspace say so.
func TestAnnotationsTellTheTruth(t *testing.T) {
	all := allTools(t)
	require.NotEmpty(t, all)
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

	_, err = tools.Select(all, []string{"tracing"}, false)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "workspace")
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
