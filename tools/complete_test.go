package tools_test

import (
	"context"
	"testing"
	"time"

	"github.com/factory-dev/factory"
	"github.com/factory-dev/factory/internal/attacktest"
	"github.com/factory-dev/factory/tools"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func (e *env) completer() *tools.Completer {
	return tools.NewCompleter(tools.Deps{Store: e.store, Workspace: e.ws, Gate: e.gate})
}

func prompt(t *testing.T, c *tools.Completer, name, value string) []string {
	t.Helper()
	got, err := c.CompletePromptArgument(context.Background(), "forward_plan", mcp.CompleteArgument{Name: name, Value: value}, mcp.CompleteContext{})
	require.NoError(t, err)
	require.NotNil(t, got.Values, "values is a required array, never null")
	return got.Values
}

func resource(t *testing.T, c *tools.Completer, uri, value string) []string {
	t.Helper()
	got, err := c.CompleteResourceArgument(context.Background(), uri, mcp.CompleteArgument{Name: "id", Value: value}, mcp.CompleteContext{})
	require.NoError(t, err)
	require.NotNil(t, got.Values)
	return got.Values
}

func TestCompletionFromTheWorkspaceTheConfigAndTheRunLog(t *testing.T) {
	e := newEnv(t)
	c := e.completer()
	assert.Equal(t, []string{"unit"}, prompt(t, c, "suite", ""), "suites of factory.yaml as committed")
	assert.Equal(t, []string{"unit"}, prompt(t, c, "suite", "u"))
	assert.Empty(t, prompt(t, c, "suite", "x"))

	a := e.snapshot(t, "a")
	write(t, e.dir, "a.txt", "changed\n")
	b := e.snapshot(t, "b")
	assert.ElementsMatch(t, []string{a.ID, b.ID}, prompt(t, c, "from", "s-"))
	assert.Equal(t, []string{b.ID}, prompt(t, c, "snapshot", b.ID))

	assert.Contains(t, prompt(t, c, "run", ""), e.runID)
	assert.Contains(t, prompt(t, c, "run", "cur"), "current")
	assert.Equal(t, []string{"handler tests"}, prompt(t, c, "goal", "hand"))
	assert.Empty(t, prompt(t, c, "nonsense", ""))

	ctx := context.Background()
	for tool, result := range map[string]string{
		"test_run":      `{"id":"t-1a2b3c","suite":"unit","status":"fail"}`,
		"snapshot_diff": `{"files":[],"full_diff":"factory://blobs/d-9f8e7d"}`,
	} {
		_, err := e.store.RecordStep(ctx, factory.Step{ID: factory.NewStepID(time.Now()), RunID: e.runID, Method: "tools/call", Tool: tool, Result: result, Status: factory.StepOK, Started: time.Now()})
		require.NoError(t, err)
	}
	assert.Equal(t, []string{"t-1a2b3c"}, resource(t, c, "factory://tests/{id}/log", ""))
	assert.ElementsMatch(t, []string{"t-1a2b3c", "d-9f8e7d"}, resource(t, c, "factory://blobs/{id}", ""))
	assert.Equal(t, []string{"d-9f8e7d"}, resource(t, c, "factory://blobs/{id}", "d-"))
}

// attack: ask completion for ids under a URI that is not factory's, or with a prefix that walks out of the repository -> no values, nothing read or written outside
func TestAttackCompletionOutsideFactory(t *testing.T) {
	e := newEnv(t)
	c := e.completer()
	before := attacktest.Take(t, e.dir)
	assert.Empty(t, resource(t, c, "file:///etc/{id}", ""))
	assert.Empty(t, resource(t, c, "factory://blobs/{id}", "../../etc/passwd"))
	assert.Empty(t, prompt(t, c, "from", "--output=/tmp/x"))
	attacktest.Unchanged(t, before, e.dir)
}
