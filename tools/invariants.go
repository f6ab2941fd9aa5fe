package tools

import (
	"context"

	"github.com/factory-dev/factory/invariants"
)

type invariantListArgs struct{}

type invariantCheckArgs struct {
	Snapshot string `json:"snapshot,omitempty" jsonschema:"snapshot id or git revision to check; omit for the live tree (snapshotted first)"`
	Baseline string `json:"baseline,omitempty" jsonschema:"snapshot id or git revision (HEAD~1, a branch, a tag) to compare with (baseline.* facts, diff and protect refer to it); omit for HEAD's tree. The rules are always factory.yaml as committed at HEAD"`
	NoCache  bool   `json:"no_cache,omitempty" jsonschema:"re-run every gate even if this tree was checked before"`
}

func invariantList(d Deps) Tool {
	return define(d, "invariant_list",
		"List the gates (which produce facts), invariants (verdicts over facts), suites and sandbox limits of factory.yaml as committed at HEAD: edits of the working copy apply once committed.",
		annotations{title: "List invariants", readOnly: true, idempotent: true},
		func(ctx context.Context, _ invariantListArgs) (invariants.Plan, error) {
			cfg, note, err := d.Gate.Rules(ctx)
			if err != nil {
				return invariants.Plan{}, err
			}
			p := invariants.Describe(cfg)
			p.ConfigNote = note
			return p, nil
		})
}

func invariantCheck(d Deps) Tool {
	return defineRecording(d, "invariant_check",
		"Evaluate every invariant of factory.yaml (as committed at HEAD) on the live tree or a snapshot, in an isolated copy, against a baseline (default HEAD). passed is true only if every invariant ran and passed. Verdicts carry status, message and evidence, cached by tree and config.",
		annotations{title: "Check invariants", readOnly: true, idempotent: true},
		func(ctx context.Context, a invariantCheckArgs) (invariants.CheckResult, records, error) {
			res, err := d.Gate.Check(ctx, invariants.CheckRequest{Snapshot: a.Snapshot, Baseline: a.Baseline, NoCache: a.NoCache})
			recs := records{snapshotIDs: []string{res.Snapshot}}
			if err == nil {
				recs.verdicts = res.Verdicts
			}
			return res, recs, err
		})
}
