package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/factory-dev/factory/server"
	"github.com/factory-dev/factory/tools"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// surfaceFixture is the fixture with the prompts, the completer and two
// more test tools: "phases", which walks two gate phases as the gate
// does, and "slow", offered as a task.
func surfaceFixture(t *testing.T) (*fixture, *stdioClient) {
	f := newFixture(t)
	for _, p := range tools.Prompts() {
		f.srv.AddPrompt(p.Def, p.Handler)
	}
	f.srv.SetCompleter(tools.NewCompleter(tools.Deps{Store: f.store}))
	steps := server.ChildSteps{Store: f.store}
	f.srv.Register([]tools.Tool{{
		Toolset: tools.SetTrace,
		Def:     mcp.NewTool("phases", mcp.WithInputSchema[echoArgs](), mcp.WithOutputSchema[echoResult]()),
		Handler: func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			for _, phase := range []string{"isolate", "gate tests", "promote"} {
				_, end := steps.Begin(ctx, phase)
				end("ok", nil)
			}
			return mcp.NewToolResultStructuredOnly(echoResult{Text: "gated"}), nil
		},
	}, {
		Toolset: tools.SetTrace,
		Def: mcp.NewTool("slow", mcp.WithInputSchema[echoArgs](), mcp.WithOutputSchema[echoResult](),
			mcp.WithTaskSupport(mcp.TaskSupportOptional)),
		Handler: func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			select {
			case <-time.After(300 * time.Millisecond):
				return mcp.NewToolResultStructuredOnly(echoResult{Text: "finished"}), nil
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		},
	}})
	return f, startStdio(t, f)
}

// until reads messages up to the response with id, returning it and the
// notifications that came before it.
func (c *stdioClient) until(t *testing.T, id int) (map[string]any, []map[string]any) {
	t.Helper()
	var notes []map[string]any
	for {
		m := c.recv(t)
		if _, ok := m["id"]; ok && fmt.Sprint(m["id"]) == fmt.Sprint(id) {
			return m, notes
		}
		if _, ok := m["method"]; ok {
			notes = append(notes, m)
		}
	}
}

// settle answers the call with id and its notifications. mcp-go writes
// notifications from a queue of their own, so some may follow the
// response: pings are sent (each a round trip through the server) until
// enough have arrived, or, for enough(nil) true, once.
func (c *stdioClient) settle(t *testing.T, id int, enough func([]map[string]any) bool) (map[string]any, []map[string]any) {
	t.Helper()
	res, notes := c.until(t, id)
	// A busy machine may not run the notification queue for a while:
	// keep asking for up to 20 s, pausing between round trips.
	deadline := time.Now().Add(20 * time.Second)
	for i := 0; i < 1000 && time.Now().Before(deadline); i++ {
		ping := 100000 + id*1000 + i
		c.send(t, request(ping, "ping", map[string]any{}))
		_, more := c.until(t, ping)
		notes = append(notes, more...)
		if enough(notes) {
			break
		}
		time.Sleep(time.Duration(min(i, 20)) * time.Millisecond)
	}
	return res, notes
}

func atLeast(n int) func([]map[string]any) bool {
	return func(notes []map[string]any) bool { return len(notes) >= n }
}

func request(id int, method string, params any) string {
	b, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": id, "method": method, "params": params})
	return string(b)
}

func TestForwardPlanPromptIsListedAndWalksTheLoop(t *testing.T) {
	f, c := surfaceFixture(t)
	c.send(t, request(1, "prompts/list", map[string]any{}))
	r, _ := c.until(t, 1)
	assert.Contains(t, fmt.Sprint(r["result"]), "forward_plan")

	c.send(t, request(2, "prompts/get", map[string]any{"name": "forward_plan", "arguments": map[string]string{"goal": "add retries to the fetcher"}}))
	r, _ = c.until(t, 2)
	text := fmt.Sprint(r["result"])
	for _, want := range []string{"Goal: add retries to the fetcher", "run_start", "snapshot_create", "trace_note", "test_run {}", "change_propose: the gate", "not gated"} {
		assert.Contains(t, text, want)
	}
	c.send(t, request(3, "prompts/get", map[string]any{"name": "forward_plan", "arguments": map[string]string{}}))
	r, _ = c.until(t, 3)
	require.NotNil(t, r["error"])
	assert.Contains(t, fmt.Sprint(r["error"]), "forward_plan needs goal")

	var methods []string
	for _, s := range f.steps(t) {
		methods = append(methods, s.Method+" "+s.Tool)
	}
	assert.Contains(t, methods, "prompts/get forward_plan", "a prompt is a step of the run")
}

func TestInstructionsSayWhereTheGateIs(t *testing.T) {
	assert.Contains(t, server.Instructions, "ungated")
	assert.Contains(t, server.Instructions, "change_propose is the gate")
}

func TestCompletionOfRunIDsAndGoals(t *testing.T) {
	_, c := surfaceFixture(t)
	c.send(t, callLine(1, "run_start", map[string]any{"name": "mend the parser"}))
	r, _ := c.until(t, 1)
	runID := r["result"].(map[string]any)["structuredContent"].(map[string]any)["run"].(map[string]any)["id"].(string)

	complete := func(id int, name, value string) []any {
		c.send(t, request(id, "completion/complete", map[string]any{
			"ref": map[string]any{"type": "ref/prompt", "name": "forward_plan"}, "argument": map[string]any{"name": name, "value": value}}))
		r, _ := c.until(t, id)
		require.Nil(t, r["error"], "%v", r)
		return r["result"].(map[string]any)["completion"].(map[string]any)["values"].([]any)
	}
	assert.Equal(t, []any{"mend the parser"}, complete(2, "goal", "mend"))
	assert.Contains(t, complete(3, "run", runID[:4]), runID)
	assert.Equal(t, []any{}, complete(4, "goal", "nothing like it"))
	assert.Equal(t, []any{}, complete(5, "suite", ""), "no workspace: no suites, and no error")
}

func TestLoggingFollowsTheLevelTheClientSets(t *testing.T) {
	_, c := surfaceFixture(t)
	c.send(t, callLine(1, "echo", map[string]any{"text": "quiet"}))
	_, notes := c.settle(t, 1, atLeast(0))
	assert.Empty(t, notes, "the default level is error")

	c.send(t, request(2, "logging/setLevel", map[string]any{"level": "info"}))
	r, _ := c.until(t, 2)
	require.Nil(t, r["error"])
	c.send(t, callLine(3, "echo", map[string]any{"text": "loud"}))
	_, notes = c.settle(t, 3, atLeast(1))
	require.Len(t, notes, 1, "%v", notes)
	assert.Equal(t, "notifications/message", notes[0]["method"])
	params := notes[0]["params"].(map[string]any)
	assert.Equal(t, "info", params["level"])
	assert.Contains(t, params["data"], "echo done in")

	c.send(t, callLine(4, "fail", map[string]any{"text": "x"}))
	_, notes = c.settle(t, 4, atLeast(1))
	require.Len(t, notes, 1)
	assert.Equal(t, "warning", notes[0]["params"].(map[string]any)["level"])
	assert.Contains(t, notes[0]["params"].(map[string]any)["data"], "does not exist")
}

func TestProgressAtEveryPhaseOnlyGrows(t *testing.T) {
	_, c := surfaceFixture(t)
	c.send(t, request(1, "tools/call", map[string]any{"name": "phases", "arguments": map[string]any{"text": "x"}, "_meta": map[string]any{"progressToken": "tok"}}))
	_, notes := c.settle(t, 1, atLeast(3))
	var msgs []string
	last := 0.0
	for _, n := range notes {
		if n["method"] != "notifications/progress" {
			continue
		}
		p := n["params"].(map[string]any)
		assert.Equal(t, "tok", p["progressToken"])
		assert.Greater(t, p["progress"].(float64), last, "progress only grows")
		last = p["progress"].(float64)
		msgs = append(msgs, p["message"].(string))
	}
	assert.Equal(t, []string{"isolate", "gate tests", "promote"}, msgs)

	c.send(t, callLine(2, "phases", map[string]any{"text": "x"}))
	_, notes = c.settle(t, 2, atLeast(0))
	assert.Empty(t, notes, "no token, no progress (and the level is error)")
}

func TestATaskRunsToItsEndAfterTheCreatingRequest(t *testing.T) {
	_, c := surfaceFixture(t)
	c.send(t, request(1, "tools/call", map[string]any{"name": "slow", "arguments": map[string]any{"text": "x"}, "task": map[string]any{"ttl": 60000}}))
	r, _ := c.until(t, 1)
	require.Nil(t, r["error"], "%v", r)
	task := r["result"].(map[string]any)["task"].(map[string]any)
	id := task["taskId"].(string)
	require.NotEmpty(t, id)

	c.send(t, request(2, "tasks/result", map[string]any{"taskId": id}))
	r, _ = c.until(t, 2)
	require.Nil(t, r["error"], "the task was not cancelled when its creating request ended: %v", r)
	assert.True(t, strings.Contains(fmt.Sprint(r["result"]), "finished"), "%v", r)
}
