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

// Prompts returns the prompts: forward_plan, the loop of planned work,
// and investigate, the hunt for what broke.
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
	}, {
		Def: mcp.NewPrompt("investigate",
			mcp.WithPromptTitle("Reproduce, rule out flakiness, find the change"),
			mcp.WithPromptDescription("Walk through an investigation the factory way: reproduce, rule out flakiness, find the change that broke it, compare performance, see invariant drift, note each finding."),
			mcp.WithArgument("symptom", mcp.RequiredArgument(),
				mcp.ArgumentDescription("what is wrong, in one sentence (a failing test, a slowdown, a broken rule)")),
		),
		Handler: investigatePrompt,
	}}
}

func investigatePrompt(ctx context.Context, req mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
	symptom := strings.TrimSpace(req.Params.Arguments["symptom"])
	if symptom == "" {
		return nil, factory.Errorf(factory.EINVALID, "investigate needs symptom: one sentence saying what is wrong (a failing test, a slowdown, a broken rule)")
	}
	if err := checkText("symptom", symptom, 2000); err != nil {
		return nil, err
	}
	text := fmt.Sprintf(investigateText, symptom, "investigate: "+factory.Clip(symptom, 60))
	return mcp.NewGetPromptResult("Investigate: "+factory.Clip(symptom, 80),
		[]mcp.PromptMessage{mcp.NewPromptMessage(mcp.RoleUser, mcp.NewTextContent(text))}), nil
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

// investigateText is the investigation, step by step; every probe runs in
// an isolated copy, so nothing here changes the live tree.
const investigateText = `Symptom: %s

Investigate with factory's tools in this order; none of them changes the live tree, the index or HEAD:

1. run_start {"name": %q, "workflow": "investigate"}: every later call and finding is recorded under this run.
2. Reproduce: test_run with the suite, package and test that show the symptom. No failure, no investigation: note what you ran and stop.
3. flaky_check on the failing test (runs 20): class flaky means the symptom is noise, not a change; record it and look at the grouped failure messages instead of bisecting.
4. regression_find with good (a revision or snapshot where it worked) and the same test: it names first_bad and last_good and their diff. Read that diff before anything else.
5. If the symptom is speed: perf_compare {"base": <last_good>, "head": <first_bad>, "pattern": ...}. Only a verdict of slower or faster counts; unchanged means the difference is noise.
6. If the symptom is a rule (layering, a forbidden pattern, a protected file): invariant_drift {"from": <last_good>, "to": <first_bad>}, or {"last": 10} to find the accepted change where each invariant flipped. The evidence names the offending import or line.
7. trace_note {"kind": "observation", "text": "..."} for each finding: the tree, the evidence, and how sure you are.

Fix only once the cause is named; then follow forward_plan to land the fix through the gate.`
