package tools

import (
	"context"
	"fmt"
	"strings"

	"github.com/factory-dev/factory"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

// Prompt is one prompt template with its handler.
type Prompt struct {
	Def     mcp.Prompt
	Handler server.PromptHandlerFunc
}

// Prompts returns the prompts: forward_plan, the loop of planned work.
func Prompts() []Prompt {
	return []Prompt{{
		Def: mcp.NewPrompt("forward_plan",
			mcp.WithPromptTitle("Plan, edit, test, gate, land"),
			mcp.WithPromptDescription("Walk through a change the factory way: name the run, snapshot, plan, edit, test, pass the gate, record decisions."),
			mcp.WithArgument("goal", mcp.RequiredArgument(),
				mcp.ArgumentDescription("what the change should achieve, in one sentence")),
			mcp.WithArgument("suite",
				mcp.ArgumentDescription("the test suite of factory.yaml to run (default: the first)")),
		),
		Handler: forwardPlan,
	}}
}

func forwardPlan(ctx context.Context, req mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
	goal := strings.TrimSpace(req.Params.Arguments["goal"])
	if goal == "" {
		return nil, factory.Errorf(factory.EINVALID, "forward_plan needs goal: one sentence saying what the change should achieve")
	}
	if err := checkText("goal", goal, 2000); err != nil {
		return nil, err
	}
	suite := "{}"
	if s := strings.TrimSpace(req.Params.Arguments["suite"]); s != "" {
		suite = fmt.Sprintf(`{"suite": %q}`, s)
	}
	text := fmt.Sprintf(forwardPlanText, goal, factory.Clip(goal, 80), suite)
	return mcp.NewGetPromptResult("Plan, edit, test, gate and land: "+factory.Clip(goal, 80),
		[]mcp.PromptMessage{mcp.NewPromptMessage(mcp.RoleUser, mcp.NewTextContent(text))}), nil
}

// forwardPlanText is the loop, step by step. Its verbs are the goal, the
// run's name and test_run's arguments.
const forwardPlanText = `Goal: %s

Work through factory's tools in this order:

1. run_start {"name": %q, "workflow": "forward"}: every later call is recorded under this run.
2. snapshot_create {"label": "start"}: the point to come back to (snapshot_restore undoes anything).
3. trace_note {"kind": "plan", "text": "..."}: the plan in a few lines: which files, which tests prove it.
4. Edit the files (your own edit tool, or patch_apply). Edits and patch_apply are not gated: nothing is judged yet.
5. test_run %s: read the failures, fix, run again until the suite passes. A failure already on the base is not yours; test_run with baseline shows only new ones.
6. change_propose: the gate. Without a patch it judges the working tree's changes against HEAD; every invariant of factory.yaml must pass. A rejection names the failing verdicts and their evidence: fix and propose again. With {"commit": true} an accepted tree is committed.
7. trace_note {"kind": "decision", "text": "..."} for each choice a reviewer would ask about, with its reason.

If the gate rejects for a reason outside the change, say so in a decision note rather than weakening a test or factory.yaml.`
