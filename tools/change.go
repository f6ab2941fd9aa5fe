package tools

import (
	"context"

	"github.com/factory-dev/factory"
	"github.com/factory-dev/factory/invariants"
	"github.com/factory-dev/factory/invariants/rules"
)

type patchApplyArgs struct {
	Patch  string `json:"patch" jsonschema:"a unified diff (git diff or diff -u output); several files allowed; paths relative to the workspace root"`
	DryRun bool   `json:"dry_run,omitempty" jsonschema:"report what would happen and write nothing"`
	Fuzz   int    `json:"fuzz,omitempty" jsonschema:"context lines per hunk end that may mismatch (0, the default, means exact context only); any fuzz used is reported"`
}

// patchApplyResult is the patch report and, when the patch did not apply,
// why: a conflict is an answer (applied false), not a tool error.
type patchApplyResult struct {
	factory.PatchReport
	Reason         string `json:"reason,omitempty"`          // why it did not apply
	AlreadyApplied bool   `json:"already_applied,omitempty"` // the working tree already holds the patch
}

type changeProposeArgs struct {
	Patch   string `json:"patch,omitempty" jsonschema:"the change as a unified diff; omit to judge the working tree as it is"`
	Base    string `json:"base,omitempty" jsonschema:"without a patch: the snapshot id or revision to judge the working tree against (default HEAD)"`
	Fuzz    int    `json:"fuzz,omitempty" jsonschema:"context lines per hunk end that may mismatch (default 0: exact)"`
	Commit  bool   `json:"commit,omitempty" jsonschema:"when accepted, also commit the gated tree on the current branch (off by default)"`
	Message string `json:"message,omitempty" jsonschema:"commit message, with commit"`
}

func patchApply(d Deps) Tool {
	return defineRecording(d, "patch_apply",
		"Apply a unified diff atomically: all files or none; each hunk at its line or at the nearest exact match (offset reported), never silent fuzz. If a hunk does not apply: applied: false, nothing written, and per hunk the expected and actual lines. Snapshots before and after: snapshot_restore of before undoes it. Ungated: change_propose is the gate.",
		annotations{title: "Apply a patch", destructive: true},
		func(ctx context.Context, a patchApplyArgs) (patchApplyResult, records, error) {
			if a.Patch == "" {
				return patchApplyResult{}, records{}, factory.Errorf(factory.EINVALID, "patch is empty; send a unified diff")
			}
			// The write limits come from factory.yaml as committed (the
			// same trusted rules the gate reads), never from the agent; a
			// committed factory.yaml that does not load leaves the engine's
			// defaults, which are safe.
			var limits rules.PatchLimits
			if cfg, _, err := loadConfig(ctx, d); err == nil {
				limits = cfg.Patch
			}
			rep, err := d.Workspace.ApplyPatch(ctx, limits.Apply(factory.PatchRequest{Patch: a.Patch, DryRun: a.DryRun, Fuzz: a.Fuzz}))
			// the engine refuses a real apply after a dry run of its own:
			// the report says what was asked
			rep.DryRun = a.DryRun
			res := patchApplyResult{PatchReport: rep}
			recs := records{snapshotIDs: []string{rep.Before, rep.After}}
			if factory.ErrorCode(err) != factory.ECONFLICT {
				return res, recs, err
			}
			recs.rejected = true
			res.Reason = factory.ErrorMessage(err)
			if invariants.AppliedIn(ctx, func(ctx context.Context, req factory.PatchRequest) (factory.PatchReport, error) {
				return d.Workspace.ApplyPatch(ctx, req)
			}, a.Patch) {
				res.AlreadyApplied = true
				res.Reason = invariants.AlreadyAppliedReason
			}
			return res, recs, nil
		})
}

func changePropose(d Deps) Tool {
	return defineRecording(d, "change_propose",
		"The gate. Without a patch: judge the working tree (edited with any tool) against base (default HEAD), writing nothing; with commit: true the accepted tree is committed exactly. With a patch: apply it in an isolated copy and write it to the live tree only if every invariant passes. The rules come from factory.yaml as committed at HEAD. A rejection is an answer (accepted: false) with the failing verdicts and their evidence.",
		annotations{title: "Propose a change", destructive: true},
		func(ctx context.Context, a changeProposeArgs) (invariants.ProposeResult, records, error) {
			if err := checkText("message", a.Message, 4000); a.Message != "" && err != nil {
				return invariants.ProposeResult{}, records{}, err
			}
			if err := checkText("base", a.Base, 200); err != nil {
				return invariants.ProposeResult{}, records{}, err
			}
			res, err := d.Gate.Propose(ctx, invariants.ProposeRequest{Patch: a.Patch, Base: a.Base, Fuzz: a.Fuzz, Commit: a.Commit, Message: a.Message})
			recs := records{snapshotIDs: []string{res.Base, res.Result, res.Live}}
			if err != nil {
				return res, recs, err
			}
			// A rejection is a verdict like an acceptance: both are kept,
			// and both are answers.
			recs.verdicts = res.Verdicts
			recs.rejected = !res.Accepted
			return res, recs, nil
		})
}
