package tools_test

import (
	"context"
	"strings"
	"testing"

	"github.com/factory-dev/factory/tools"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func investigatePrompt(t *testing.T) tools.Prompt {
	for _, p := range tools.Prompts() {
		if p.Def.Name == "investigate" {
			return p
		}
	}
	t.Fatal("no investigate prompt")
	return tools.Prompt{}
}

func TestInvestigatePromptWalksTheWorkflow(t *testing.T) {
	p := investigatePrompt(t)
	var req mcp.GetPromptRequest
	req.Params.Arguments = map[string]string{"symptom": "checkout got 3x slower"}
	res, err := p.Handler(context.Background(), req)
	require.NoError(t, err)
	require.Len(t, res.Messages, 1)
	text := res.Messages[0].Content.(mcp.TextContent).Text
	assert.Contains(t, text, "checkout got 3x slower")
	// the steps, in order
	last := -1
	for _, step := range []string{`"workflow": "investigate"`, "test_run", "flaky_check", "regression_find", "perf_compare", "invariant_drift", "trace_note"} {
		i := strings.Index(text, step)
		require.GreaterOrEqual(t, i, 0, "%s missing", step)
		assert.Greater(t, i, last, "%s out of order", step)
		last = i
	}
}

func TestInvestigatePromptNeedsASymptom(t *testing.T) {
	p := investigatePrompt(t)
	for _, s := range []string{"", "   ", "a\x01b"} {
		var req mcp.GetPromptRequest
		req.Params.Arguments = map[string]string{"symptom": s}
		_, err := p.Handler(context.Background(), req)
		require.Error(t, err, "%q", s)
		assert.Contains(t, err.Error(), "symptom")
	}
}
