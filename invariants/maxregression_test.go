package invariants

import (
	"testing"
	"time"

	"github.com/factory-dev/factory"
	"github.com/factory-dev/factory/invariants/benchstat"
	"github.com/factory-dev/factory/invariants/gates"
	"github.com/factory-dev/factory/invariants/rules"
	"github.com/stretchr/testify/assert"
)

// The verdict says "within" only when the interval's upper end is within
// the budget; a large change the rounds cannot confirm fails as
// inconclusive; a significant one as slower; a benchmark missing from the
// result, or stopped at the budget, fails.
func TestMaxRegressionNeverSaysWithinForADeltaOutsideTheBudget(t *testing.T) {
	inv := &compiled{Invariant: rules.Invariant{ID: "fast", Bench: "Benchmark*", Percent: 10}}
	judge := func(d benchstat.BenchDelta, missing ...string) factory.Verdict {
		return evalMaxRegression(inv, benchstat.BenchFacts{Compare: map[string]benchstat.BenchDelta{"BenchmarkX": d}, Missing: missing})
	}
	// the case: +365% on 6 pairs (p = 0.031) passed as "within 10%"
	v := judge(benchstat.BenchDelta{Base: 1000, Center: 4650, DeltaPct: 365, P: 0.031, N: "6+6", Test: "paired cpu", Low: 300})
	assert.Equal(t, factory.VerdictFail, v.Status, v.Message)
	assert.Contains(t, v.Message, "slower by more than 10%")
	v = judge(benchstat.BenchDelta{Base: 1000, Center: 4650, DeltaPct: 365, P: 0.031, N: "6+6", Test: "paired cpu", Low: -5})
	assert.Equal(t, factory.VerdictFail, v.Status)
	assert.NotContains(t, v.Message, "within")
	assert.Contains(t, v.Evidence[0], "inconclusive: +365.0% is over the 10% budget, but not significantly (the interval reaches -5.0%)")
	// a small estimate whose interval reaches past the budget
	v = judge(benchstat.BenchDelta{Base: 1000, Center: 1050, DeltaPct: 5, P: 0.2, N: "10+10", Test: "paired cpu", Low: -3, High: 14, Bounded: true})
	assert.Equal(t, factory.VerdictFail, v.Status)
	assert.Contains(t, v.Message, "inconclusive against the 10% budget")
	v = judge(benchstat.BenchDelta{Base: 1000, Center: 1050, DeltaPct: 5, P: 0.02, N: "10+10", Test: "paired cpu", Low: 2, High: 8, Bounded: true})
	assert.Equal(t, factory.VerdictPass, v.Status)
	assert.Equal(t, "1 benchmark(s) within 10%", v.Message)
	assert.Contains(t, v.Evidence[0], "99% interval +2.0% to +8.0%")
	v = judge(gates.AtLeast(1000, 250, 30*time.Second))
	assert.Equal(t, factory.VerdictFail, v.Status)
	assert.Contains(t, v.Evidence[0], "at least 250x slower")
	v = evalMaxRegression(inv, benchstat.BenchFacts{Missing: []string{"BenchmarkX"}})
	assert.Equal(t, factory.VerdictFail, v.Status)
	assert.Equal(t, []string{"BenchmarkX ran on the baseline but not on the result (deleted, renamed, skipped or failing)"}, v.Evidence)
}
