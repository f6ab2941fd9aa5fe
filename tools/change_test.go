package tools_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/factory-dev/factory"
	"github.com/factory-dev/factory/internal/attacktest"
	"github.com/factory-dev/factory/invariants"
	"github.com/factory-dev/factory/tools"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// rawCall serves a tools/call and returns the result as the client gets it.
func (e *env) rawCall(t *testing.T, name string, args map[string]any) *mcp.CallToolResult {
	t.Helper()
	msg, err := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 1, "method": "tools/call",
		"params": map[string]any{"name": name, "arguments": args}})
	require.NoError(t, err)
	r, ok := e.srv.HandleMessage(e.ctx, msg).(mcp.JSONRPCResponse)
	require.True(t, ok, "%s answered a protocol error", name)
	res, ok := r.Result.(*mcp.CallToolResult)
	require.True(t, ok)
	return res
}

// A verdict against the change is an answer, marked so the run log tells
// it from a success; a real failure is a tool error, never marked.
func TestARejectionIsAnAnswerNotAToolError(t *testing.T) {
	e := newEnv(t)
	e.gate.propose = invariants.ProposeResult{Reason: "rejected: tests-pass failed",
		Verdicts: []factory.Verdict{{ID: "tests-pass", Status: factory.VerdictFail, Message: "1 failed", Evidence: []string{"FAIL TestX"}}}}
	for name, args := range map[string]map[string]any{
		"change_propose": {},
		"patch_apply":    {"patch": strings.ReplaceAll(twoToTWO, " one", " uno")},
	} {
		res := e.rawCall(t, name, args)
		assert.False(t, res.IsError, name)
		assert.True(t, tools.Rejected(res), "%s: a rejection is marked in _meta", name)
	}
	e.gate.propose = invariants.ProposeResult{Accepted: true, Reason: "accepted", Verdicts: []factory.Verdict{}}
	assert.False(t, tools.Rejected(e.rawCall(t, "change_propose", map[string]any{})), "an acceptance is not marked")
	bad := e.rawCall(t, "patch_apply", map[string]any{"patch": "--- a/../x\n+++ b/../x\n@@ -0,0 +1 @@\n+x\n"})
	assert.True(t, bad.IsError, "an unsafe patch is bad input, a tool error")
	assert.False(t, tools.Rejected(bad))
}

// attack: send patch_apply a patch the working tree already holds (made
// with an editor), as if it were new -> answered applied: false,
// already_applied, pointing at change_propose; nothing written
func TestAttackPatchApplyAlreadyApplied(t *testing.T) {
	e := newEnv(t)
	write(t, e.dir, "a.txt", "one\nTWO\nthree\n")
	before := attacktest.Take(t, e.dir)
	got, toolErr := e.call(t, "patch_apply", map[string]any{"patch": twoToTWO})
	require.Empty(t, toolErr)
	assert.Equal(t, false, field(got, "applied"))
	assert.Equal(t, true, field(got, "already_applied"))
	assert.Contains(t, str(got, "reason"), "call change_propose without a patch")
	attacktest.Unchanged(t, before, e.dir)
}
