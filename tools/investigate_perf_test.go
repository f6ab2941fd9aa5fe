package tools_test

import (
	"context"
	"github.com/factory-dev/factory/invariants/benchstat"
	"testing"

	"github.com/factory-dev/factory"
	"github.com/factory-dev/factory/invariants"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// CompareBenchmarks gives the fake gate the paired bench measurement
// perf_compare asks for: a 3x slower head, as the real one measures it.
func (g *fakeGate) CompareBenchmarks(ctx context.Context, req invariants.CompareRequest) ([]invariants.BenchComparison, error) {
	if req.Base.ID == "" || req.Head.ID == "" {
		return nil, factory.Errorf(factory.EINVALID, "fake: trees not resolved")
	}
	return []invariants.BenchComparison{{Name: "BenchmarkWork", Delta: benchstat.BenchDelta{Base: 20000, Center: 60000, DeltaPct: 200, P: 0.002, Significant: true, Low: 180, High: 220, Bounded: true, N: "10+10", Test: "paired cpu"}}}, nil
}

// investigatePerfCases are perf_compare's and invariant_drift's handler
// cases.
func investigatePerfCases() map[string][]handlerCase {
	return map[string][]handlerCase{
		"perf_compare": {
			{name: "head against HEAD", setup: args(map[string]any{"base": "HEAD", "pattern": "Work"}), check: func(t *testing.T, e *env, got map[string]any) {
				rows := field(got, "benchmarks").([]any)
				require.Len(t, rows, 1)
				row := rows[0].(map[string]any)
				assert.Equal(t, "slower", row["verdict"])
				assert.Contains(t, str(got, "table"), "+200.00%")
			}},
			{name: "no base", setup: args(map[string]any{}), want: "perf_compare needs base"},
			{name: "budget too large", setup: args(map[string]any{"base": "HEAD", "budget_seconds": 100000}), want: "budget_seconds in that range"},
		},
		"invariant_drift": {
			{name: "nothing changed", setup: func(t *testing.T, e *env) map[string]any {
				e.gate.check = invariants.CheckResult{Verdicts: []factory.Verdict{{ID: "layering", Status: factory.VerdictPass}}}
				return map[string]any{"from": "HEAD"}
			}, check: func(t *testing.T, e *env, got map[string]any) {
				assert.Equal(t, []any{}, field(got, "changed"))
				assert.Equal(t, 1.0, field(got, "unchanged"))
				require.Len(t, e.gate.checked, 2, "from and to are both checked")
				assert.Equal(t, e.gate.checked[0].Snapshot, e.gate.checked[1].Baseline, "to is judged against from")
			}},
			{name: "no from", setup: args(map[string]any{}), want: "invariant_drift needs from"},
			{name: "last out of range", setup: args(map[string]any{"last": 99}), want: "give 2..20"},
		},
	}
}
