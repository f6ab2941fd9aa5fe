package tools_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/factory-dev/factory"
	"github.com/factory-dev/factory/internal/gittest"
	"github.com/factory-dev/factory/sandbox"
	"github.com/factory-dev/factory/tools"
	"github.com/factory-dev/factory/traces"
	"github.com/mark3labs/mcp-go/mcp"
	mcpserver "github.com/mark3labs/mcp-go/server"
	"github.com/stretchr/testify/require"
)

// env is one workspace with every tool: a real git repository with a
// committed factory.yaml, a real run log outside it, a fake gate, and an
// mcp-go server that validates every result against its output schema.
type env struct {
	dir   string
	ws    *sandbox.Workspace
	store *traces.Store
	gate  *fakeGate
	srv   *mcpserver.MCPServer
	ctx   context.Context // carries a run and a step of the run log
	runID string
}

const envConfig = `version: 1
suites:
  unit: {run: [sh, -c, "echo all good"], format: exit-code}
gates:
  tests: {suite: unit}
invariants:
  - {id: tests-pass, expr: "tests.failed == 0"}
`

func newEnv(t *testing.T) *env {
	t.Helper()
	dir := t.TempDir()
	gittest.Run(t, dir, "init", "-q")
	write(t, dir, "a.txt", "one\ntwo\nthree\n")
	write(t, dir, "factory.yaml", envConfig)
	gittest.Run(t, dir, "add", "-A")
	gittest.Run(t, dir, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "start")
	ctx := context.Background()
	ws, err := sandbox.Open(ctx, sandbox.Config{Root: dir})
	require.NoError(t, err)
	store, err := traces.Open(ctx, traces.Config{Path: filepath.Join(t.TempDir(), "factory.db")})
	require.NoError(t, err)
	t.Cleanup(func() { store.Close() })
	run, err := store.StartRun(ctx, factory.Run{Name: "handler tests"})
	require.NoError(t, err)
	e := &env{dir: dir, ws: ws, store: store, gate: &fakeGate{ws: ws}, runID: run.ID}
	e.ctx = factory.WithCall(ctx, factory.Call{RunID: run.ID, StepID: factory.NewStepID(time.Now())})
	e.srv = mcpserver.NewMCPServer("factory-test", "test",
		mcpserver.WithToolCapabilities(false), mcpserver.WithOutputSchemaValidation())
	for _, tl := range tools.New(tools.Deps{Store: store, Workspace: ws, Gate: e.gate, Runs: fakeRuns{}, Version: "test"}) {
		e.srv.AddTool(tl.Def, tl.Handler)
	}
	return e
}

// call serves a tools/call as a client would send it. A tool error comes
// back as (nil, its text); a success as (its structured content as JSON
// values, ""), already validated against the tool's output schema.
func (e *env) call(t *testing.T, name string, args map[string]any) (map[string]any, string) {
	t.Helper()
	msg, err := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 1, "method": "tools/call",
		"params": map[string]any{"name": name, "arguments": args}})
	require.NoError(t, err)
	switch r := e.srv.HandleMessage(e.ctx, msg).(type) {
	case mcp.JSONRPCResponse:
		res, ok := r.Result.(*mcp.CallToolResult)
		require.True(t, ok, "result of %s is a %T", name, r.Result)
		var text string
		for _, c := range res.Content {
			if tc, ok := c.(mcp.TextContent); ok {
				text += tc.Text + "\n"
			}
		}
		if res.IsError {
			require.NotEmpty(t, text, "%s: a tool error must say what went wrong", name)
			return nil, text
		}
		b, err := json.Marshal(res.StructuredContent)
		require.NoError(t, err)
		var out map[string]any
		require.NoError(t, json.Unmarshal(b, &out))
		return out, ""
	case mcp.JSONRPCError:
		t.Fatalf("%s answered a protocol error, not a tool result: %+v", name, r.Error)
	default:
		t.Fatalf("%s answered %T", name, r)
	}
	return nil, ""
}

// snapshot makes a snapshot of the live tree outside any tool.
func (e *env) snapshot(t *testing.T, label string) factory.Snapshot {
	t.Helper()
	s, err := e.ws.Snapshot(context.Background(), label)
	require.NoError(t, err)
	return s
}

// recorded reports whether snapshot id is in the run log.
func (e *env) recorded(id string) bool {
	_, err := e.store.Snapshot(context.Background(), id)
	return err == nil
}

func write(t *testing.T, dir, name, content string) {
	t.Helper()
	require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644))
}

func read(t *testing.T, dir, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name))
	require.NoError(t, err)
	return string(b)
}

// field digs a value out of a decoded result: field(m, "snapshot", "id").
func field(m map[string]any, path ...string) any {
	var v any = m
	for _, p := range path {
		obj, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = obj[p]
	}
	return v
}

func str(m map[string]any, path ...string) string {
	return fmt.Sprint(field(m, path...))
}
