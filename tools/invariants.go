package tools

import (
	"context"
	"time"

	"github.com/factory-dev/factory"
	"github.com/factory-dev/factory/invariants"
	"github.com/factory-dev/factory/traces"
)

type invariantListArgs struct{}

type invariantCheckArgs struct {
	Snapshot string `json:"snapshot,omitempty" jsonschema:"snapshot to check; omit for the live tree (snapshotted first)"`
	Baseline string `json:"baseline,omitempty" jsonschema:"snapshot to compare with (baseline.* facts, diff and protect refer to it); omit for HEAD's tree. The rules are always factory.yaml as committed at HEAD"`
	NoCache  bool   `json:"no_cache,omitempty" jsonschema:"re-run every gate even if this tree was checked before"`
}

type changeProposeArgs struct {
	Patch   string `json:"patch" jsonschema:"the change as a unified diff, paths relative to the workspace root"`
	Fuzz    int    `json:"fuzz,omitempty" jsonschema:"context lines per hunk end that may mismatch (default 0: exact)"`
	Commit  bool   `json:"commit,omitempty" jsonschema:"when accepted, also commit the change on the current branch (off by default)"`
	Message string `json:"message,omitempty" jsonschema:"commit message, with commit"`
}

func invariantTools(d Deps) []Tool {
	c := d.Gate
	return []Tool{
		define(d.Log, SetInvariants, "invariant_list",
			"List the gates (what produces facts) and invariants (verdicts over facts) that factory.yaml declares as committed at HEAD (the rules that apply; edits of the working copy apply once committed), with the suites and sandbox limits.",
			annotations{title: "List invariants", readOnly: true, idempotent: true},
			func(ctx context.Context, _ invariantListArgs) (invariants.Plan, error) {
				cfg, note, err := c.Rules(ctx)
				if err != nil {
					return invariants.Plan{}, err
				}
				p := invariants.Describe(cfg)
				p.ConfigNote = note
				return p, nil
			}),
		define(d.Log, SetInvariants, "invariant_check",
			"Evaluate every invariant of factory.yaml (as committed at HEAD) on the live tree or a snapshot, in an isolated copy (the live tree is never where gates run), against a baseline (HEAD's tree unless given). passed is true only when every invariant was evaluated and passed (a skipped one is not passed). Each verdict has a status, a one-line message and evidence. Verdicts are cached by tree and config, so an unchanged tree is not re-run.",
			annotations{title: "Check invariants", readOnly: true, idempotent: true},
			func(ctx context.Context, a invariantCheckArgs) (invariants.CheckResult, error) {
				res, err := c.Check(ctx, invariants.CheckRequest{Snapshot: a.Snapshot, Baseline: a.Baseline, NoCache: a.NoCache})
				recordSnapshots(ctx, d, res.Snapshot)
				if err == nil {
					recordVerdicts(ctx, d, res.Verdicts)
				}
				return res, err
			}),
		define(d.Log, SetChange, "change_propose",
			"The gate: apply a patch in an isolated copy of the live tree, run every gate of factory.yaml in the sandbox, and write the change into the live tree only if every invariant passes (merging cleanly with edits made meanwhile). Otherwise the live tree is left untouched and the failing verdicts say why, with evidence. The rules and protected files are read from the base, never from the change.",
			annotations{title: "Propose a change", destructive: true},
			func(ctx context.Context, a changeProposeArgs) (invariants.ProposeResult, error) {
				if a.Patch == "" {
					return invariants.ProposeResult{}, factory.Errorf(factory.EINVALID, "patch is empty; send a unified diff")
				}
				if err := checkText("message", a.Message, 4000); a.Message != "" && err != nil {
					return invariants.ProposeResult{}, err
				}
				res, err := c.Propose(ctx, invariants.ProposeRequest{Patch: a.Patch, Fuzz: a.Fuzz, Commit: a.Commit, Message: a.Message})
				recordSnapshots(ctx, d, res.Base, res.Result, res.Live)
				if err != nil {
					return res, err
				}
				recordVerdicts(ctx, d, res.Verdicts)
				if !res.Accepted {
					return res, factory.Errorf(factory.ECONFLICT, "%s", res.Reason)
				}
				return res, nil
			}),
	}
}

func recordVerdicts(ctx context.Context, d Deps, vs []factory.Verdict) {
	if d.Store == nil || len(vs) == 0 {
		return
	}
	call := factory.CallFrom(ctx)
	if err := d.Store.RecordVerdicts(context.WithoutCancel(ctx), call.RunID, call.StepID, vs); err != nil {
		d.Log.Warn("cannot record verdicts", "err", err)
	}
}

// ChildSteps records the phases of a long request (the change controller's
// snapshot, isolate, apply, gates, promote) as steps under the request's
// own step. It implements invariants.Steps.
type ChildSteps struct{ Store *traces.Store }

var _ invariants.Steps = ChildSteps{}

// Begin starts a child step of the step in ctx.
func (c ChildSteps) Begin(ctx context.Context, name string) (context.Context, func(status string, err error)) {
	parent := factory.CallFrom(ctx)
	if c.Store == nil || parent.RunID == "" {
		return ctx, func(string, error) {}
	}
	start := time.Now()
	id := factory.NewStepID(start)
	child := factory.WithCall(ctx, factory.Call{RunID: parent.RunID, StepID: id})
	return child, func(status string, err error) {
		st := factory.Step{ID: id, RunID: parent.RunID, ParentID: parent.StepID, Method: name, Status: status, Started: start, Duration: time.Since(start)}
		if err != nil {
			st.Error = factory.ErrorMessage(err)
		}
		_, _ = c.Store.RecordStep(context.WithoutCancel(ctx), st)
	}
}
