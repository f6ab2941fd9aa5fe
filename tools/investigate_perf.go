package tools

import (
	"context"
	"time"

	"github.com/factory-dev/factory"
	"github.com/factory-dev/factory/investigate"
)

type perfCompareArgs struct {
	Base          string   `json:"base" jsonschema:"snapshot id or revision"`
	Head          string   `json:"head,omitempty" jsonschema:"snapshot id or revision; omit for the live tree"`
	Pattern       string   `json:"pattern,omitempty" jsonschema:"-bench regexp; default ."`
	Packages      []string `json:"packages,omitempty" jsonschema:"package patterns; default ./..."`
	BudgetSeconds int      `json:"budget_seconds,omitempty" jsonschema:"time budget, 5..600; default 60"`
	Mem           bool     `json:"mem,omitempty" jsonschema:"also B/op and allocs/op"`
}

type invariantDriftArgs struct {
	From string `json:"from,omitempty" jsonschema:"snapshot id or revision"`
	To   string `json:"to,omitempty" jsonschema:"snapshot id or revision; omit for the live tree"`
	Last int    `json:"last,omitempty" jsonschema:"instead of from/to: the last N (2..20) accepted changes"`
}

func perfCompare(d Deps) Tool {
	return define(d, "perf_compare",
		"Benchmark two trees side by side (paired CPU time, isolated copies): per benchmark medians, change %, interval, verdict (faster, slower, unchanged).",
		annotations{title: "Compare performance", readOnly: true, idempotent: true},
		func(ctx context.Context, a perfCompareArgs) (investigate.PerfResult, error) {
			cmp, ok := d.Gate.(investigate.Comparer)
			if !ok {
				return investigate.PerfResult{}, factory.Errorf(factory.EINVALID, "this server's gate cannot measure benchmarks; run factory serve with its default gate")
			}
			if a.BudgetSeconds < 0 {
				return investigate.PerfResult{}, factory.Errorf(factory.EINVALID, "budget_seconds is %d; give 5..600 or omit it for 60", a.BudgetSeconds)
			}
			return investigate.Compare(ctx, d.Workspace, cmp, investigate.PerfRequest{Base: a.Base, Head: a.Head, Pattern: a.Pattern,
				Packages: a.Packages, Budget: time.Duration(a.BudgetSeconds) * time.Second, Mem: a.Mem})
		})
}

func invariantDrift(d Deps) Tool {
	return define(d, "invariant_drift",
		"Evaluate HEAD's invariants on two trees, or along the last N accepted changes; list only the verdicts that changed (pass_to_fail, fail_to_pass, new, gone) with evidence.",
		annotations{title: "Invariant drift", readOnly: true, idempotent: true},
		func(ctx context.Context, a invariantDriftArgs) (investigate.DriftResult, error) {
			return investigate.InvariantDrift(ctx, d.Workspace, d.Gate, d.Workspace, investigate.DriftRequest{From: a.From, To: a.To, Last: a.Last})
		})
}
