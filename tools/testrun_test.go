package tools_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/factory-dev/factory/internal/attacktest"
	"github.com/factory-dev/factory/sandbox"
	"github.com/factory-dev/factory/tools"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// attack: ask test_run for a million reruns of each failing test, holding the sandbox for hours -> EINVALID naming the limit of 10, no test run
func TestAttackUnboundedReruns(t *testing.T) {
	dir := t.TempDir()
	out, err := exec.Command("git", "init", "-q", dir).CombinedOutput()
	require.NoError(t, err, string(out))
	// A suite that would leave a mark if it ran.
	require.NoError(t, os.WriteFile(filepath.Join(dir, "factory.yaml"),
		[]byte("version: 1\nsuites:\n  unit: {run: [sh, -c, \"touch ran; exit 1\"], format: exit-code}\n"), 0o644))
	ctx := context.Background()
	ws, err := sandbox.Open(ctx, sandbox.Config{Root: dir})
	require.NoError(t, err)
	var run tools.Tool
	for _, tl := range tools.New(tools.Deps{Workspace: ws, Runs: nopRuns{}}) {
		if tl.Def.Name == "test_run" {
			run = tl
		}
	}
	require.NotNil(t, run.Handler)
	before := attacktest.Take(t, dir)
	req := mcp.CallToolRequest{}
	req.Params.Name = "test_run"
	req.Params.Arguments = map[string]any{"reruns": 1000000, "in_place": true}
	res, err := run.Handler(ctx, req)
	require.NoError(t, err)
	require.True(t, res.IsError)
	text := res.Content[0].(mcp.TextContent).Text
	assert.Contains(t, text, "at most 10 reruns")
	attacktest.Unchanged(t, before, dir)
}
