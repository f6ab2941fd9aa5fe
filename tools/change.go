package tools

import (
	"context"

	"github.com/factory-dev/factory"
	"github.com/factory-dev/factory/invariants"
)

type patchApplyArgs struct {
	Patch  string `json:"patch" jsonschema:"a unified diff (git diff or diff -u output); several files allowed; paths relative to the workspace root"`
	DryRun bool   `json:"dry_run,omitempty" jsonschema:"report what would happen and write nothing"`
	Fuzz   int    `json:"fuzz,omitempty" jsonschema:"context lines per hunk end that may mismatch (0, the default, means exact context only); any fuzz used is reported"`
}

type changeProposeArgs struct {
	Patch   string `json:"patch" jsonschema:"the change as a unified diff, paths relative to the workspace root"`
	Fuzz    int    `json:"fuzz,omitempty" jsonschema:"context lines per hunk end that may mismatch (default 0: exact)"`
	Commit  bool   `json:"commit,omitempty" jsonschema:"when accepted, also commit the change on the current branch (off by default)"`
	Message string `json:"message,omitempty" jsonschema:"commit message, with commit"`
}

func patchApply(d Deps) Tool {
	return defineRecording(d, "patch_apply",
		"Apply a unified diff atomically: every file or none. Each hunk applies at its line, else at the nearest place where its context matches exactly (the offset is reported); never silent fuzz. Hunk counts that are off are recounted and reported. When a hunk does not apply, nothing is written and the report shows, per hunk, the expected and actual lines and the nearest partial match. A snapshot before and after is recorded, so snapshot_restore of 'before' undoes it.",
		annotations{title: "Apply a patch", destructive: true},
		func(ctx context.Context, a patchApplyArgs) (factory.PatchReport, records, error) {
			if a.Patch == "" {
				return factory.PatchReport{}, records{}, factory.Errorf(factory.EINVALID, "patch is empty; send a unified diff")
			}
			// The write limits come from factory.yaml as committed (the
			// same trusted rules the gate reads), never from the agent; a
			// committed factory.yaml that does not load leaves the engine's
			// defaults, which are safe.
			var limits invariants.PatchLimits
			if cfg, _, err := loadConfig(ctx, d); err == nil {
				limits = cfg.Patch
			}
			rep, err := d.Workspace.ApplyPatch(ctx, limits.Apply(factory.PatchRequest{Patch: a.Patch, DryRun: a.DryRun, Fuzz: a.Fuzz}))
			return rep, records{snapshotIDs: []string{rep.Before, rep.After}}, err
		})
}

func changePropose(d Deps) Tool {
	return defineRecording(d, "change_propose",
		"The gate: apply a patch in an isolated copy of the live tree, run every gate of factory.yaml in the sandbox, and write the change into the live tree only if every invariant passes (merging cleanly with edits made meanwhile). Otherwise the live tree is left untouched and the failing verdicts say why, with evidence. The rules, protected files and sandbox policy are read from factory.yaml as committed at HEAD, never from the working tree or the change.",
		annotations{title: "Propose a change", destructive: true},
		func(ctx context.Context, a changeProposeArgs) (invariants.ProposeResult, records, error) {
			if a.Patch == "" {
				return invariants.ProposeResult{}, records{}, factory.Errorf(factory.EINVALID, "patch is empty; send a unified diff")
			}
			if err := checkText("message", a.Message, 4000); a.Message != "" && err != nil {
				return invariants.ProposeResult{}, records{}, err
			}
			res, err := d.Gate.Propose(ctx, invariants.ProposeRequest{Patch: a.Patch, Fuzz: a.Fuzz, Commit: a.Commit, Message: a.Message})
			recs := records{snapshotIDs: []string{res.Base, res.Result, res.Live}}
			if err != nil {
				return res, recs, err
			}
			// A rejection is a verdict like an acceptance: both are kept.
			recs.verdicts = res.Verdicts
			if !res.Accepted {
				return res, recs, factory.Errorf(factory.ECONFLICT, "%s", res.Reason)
			}
			return res, recs, nil
		})
}
