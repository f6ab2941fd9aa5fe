package invariants

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/factory-dev/factory"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A count whose paired test can never reach p < 0.01 is refused at load,
// saying the minimum; the starter file suggests one that can.
func TestBenchCountThatCanNeverFailIsRefused(t *testing.T) {
	cfg := func(count int) string {
		return fmt.Sprintf("version: 1\ngates:\n  perf: {bench: {packages: [./...], count: %d}}\ninvariants:\n  - {id: fast, max_regression: {bench: \"Benchmark*\", percent: 10}}\n", count)
	}
	_, err := Parse("factory.yaml", []byte(cfg(6)))
	require.Error(t, err)
	assert.Equal(t, factory.EINVALID, factory.ErrorCode(err))
	assert.Contains(t, err.Error(), "count 6 can never reach p < 0.01 (the smallest p with 6 pairs is 0.031); use count: 8 or more")
	_, err = Parse("factory.yaml", []byte(cfg(7)))
	assert.ErrorContains(t, err, "the smallest p with 7 pairs is 0.016")
	c, err := Parse("factory.yaml", []byte(cfg(8)))
	require.NoError(t, err)
	assert.Equal(t, 8, c.Gates[0].Count)
	assert.Less(t, minSignFlipP(MinBenchCount), benchThresholds.CompareAlpha)
	assert.Greater(t, minSignFlipP(MinBenchCount-1), benchThresholds.CompareAlpha)

	c, err = Parse("factory.yaml", []byte("version: 1\ngates:\n  perf: {bench: {budget: 45s}}\ninvariants: []\n"))
	require.NoError(t, err)
	assert.Equal(t, 45*time.Second, c.Gates[0].Budget)

	// the starter's suggestion, uncommented, loads
	starter := string(StarterConfig(nil, "go"))
	starter = strings.Replace(starter, "  # perf: {bench:", "  perf: {bench:", 1)
	starter = strings.Replace(starter, "  # - {id: fast, max_regression:", "  - {id: fast, max_regression:", 1)
	require.Contains(t, starter, "\n  perf: {bench: {packages: [./...], count: 10}}")
	_, err = Parse("factory.yaml", []byte(starter))
	require.NoError(t, err)
}

// The paired test's smallest p with n pairs, all differences of one sign,
// is 2/2^n: with 6 pairs a +365% slowdown is never significant, with 8 it is.
func TestSignFlipSmallestP(t *testing.T) {
	for _, n := range []int{6, 7, 8, 10} {
		xs := make([]float64, n)
		for i := range xs {
			xs[i] = math.Log(4.65) + 0.01*float64(i)
		}
		assert.InDelta(t, minSignFlipP(n), signFlipP(xs), 1e-12, "n=%d", n)
	}
}

// The bounds invert the test: with 8 pairs the 99% interval is exactly the
// pairs' range (only all-one-sign reaches p = 1/256 <= 0.005 one-sided);
// fewer pairs cannot bound the change at all.
func TestSignFlipBounds(t *testing.T) {
	xs := []float64{0.10, 0.12, 0.08, 0.11, 0.09, 0.13, 0.10, 0.07}
	lo, hi, ok := signFlipBounds(xs, 0.005)
	require.True(t, ok)
	assert.InDelta(t, 0.07, lo, 1e-4)
	assert.InDelta(t, 0.13, hi, 1e-4)
	_, _, ok = signFlipBounds(xs[:7], 0.005)
	assert.False(t, ok, "7 pairs cannot reach 0.005 one-sided")

	// more pairs narrow the interval around the mean; it always holds it
	long := make([]float64, 20)
	for i := range long {
		long[i] = 0.2 + 0.05*math.Sin(float64(i))
	}
	lo, hi, ok = signFlipBounds(long, 0.005)
	require.True(t, ok)
	mean := 0.0
	for _, x := range long {
		mean += x / 20
	}
	assert.Less(t, lo, mean)
	assert.Greater(t, hi, mean)
	assert.Greater(t, lo, 0.15)
	assert.Less(t, hi, 0.25)
	// the bound is where the shifted test turns significant
	shift := func(d float64) float64 {
		ys := make([]float64, len(long))
		for i, x := range long {
			ys[i] = x - d
		}
		obs := 0.0
		for _, y := range ys {
			obs += y
		}
		abs := make([]float64, len(ys))
		for i, y := range ys {
			abs[i] = math.Abs(y)
		}
		return flipShare(abs, obs+flipTol(abs))
	}
	assert.LessOrEqual(t, shift(hi), 0.005)
	assert.Greater(t, shift(hi-1e-3), 0.005)
}

// flipShare agrees with brute force over every assignment, on both the
// exact and the sampled path.
func TestFlipShareAgreesWithBruteForce(t *testing.T) {
	ys := []float64{0.3, 0.1, 0.25, 0.05, 0.4, 0.2, 0.15}
	for _, thr := range []float64{-1.45, -0.5, 0, 0.33, 1.45} {
		hits := 0
		for m := 0; m < 1<<len(ys); m++ {
			s := 0.0
			for i, y := range ys {
				if m>>i&1 == 1 {
					y = -y
				}
				s += y
			}
			if s <= thr+1e-12 {
				hits++
			}
		}
		assert.InDelta(t, float64(hits)/128, flipShare(ys, thr+1e-12), 1e-12, "t=%g", thr)
	}
	long := make([]float64, 40)
	for i := range long {
		long[i] = 1
	}
	// P(sum <= 0) for 40 fair signs is 0.5 + P(sum = 0)/2 = 0.5625
	assert.InDelta(t, 0.5625, sampledFlipShare(long, 1e-9), 0.01)
}

// The verdict says "within" only when the interval's upper end is within
// the budget; a large change the rounds cannot confirm fails as
// inconclusive; a significant one as slower; a benchmark missing from the
// result, or stopped at the budget, fails.
func TestMaxRegressionNeverSaysWithinForADeltaOutsideTheBudget(t *testing.T) {
	inv := &compiled{Invariant: Invariant{ID: "fast", Bench: "Benchmark*", Percent: 10}}
	judge := func(d BenchDelta, missing ...string) factory.Verdict {
		return evalMaxRegression(inv, BenchFacts{Compare: map[string]BenchDelta{"BenchmarkX": d}, Missing: missing})
	}
	// the case: +365% on 6 pairs (p = 0.031) passed as "within 10%"
	v := judge(BenchDelta{Base: 1000, Center: 4650, DeltaPct: 365, P: 0.031, N: "6+6", Test: "paired cpu", Low: 300})
	assert.Equal(t, factory.VerdictFail, v.Status, v.Message)
	assert.Contains(t, v.Message, "slower by more than 10%")
	v = judge(BenchDelta{Base: 1000, Center: 4650, DeltaPct: 365, P: 0.031, N: "6+6", Test: "paired cpu", Low: -5})
	assert.Equal(t, factory.VerdictFail, v.Status)
	assert.NotContains(t, v.Message, "within")
	assert.Contains(t, v.Evidence[0], "inconclusive: +365.0% is over the 10% budget, but not significantly (the interval reaches -5.0%)")
	// a small estimate whose interval reaches past the budget
	v = judge(BenchDelta{Base: 1000, Center: 1050, DeltaPct: 5, P: 0.2, N: "10+10", Test: "paired cpu", Low: -3, High: 14, Bounded: true})
	assert.Equal(t, factory.VerdictFail, v.Status)
	assert.Contains(t, v.Message, "inconclusive against the 10% budget")
	v = judge(BenchDelta{Base: 1000, Center: 1050, DeltaPct: 5, P: 0.02, N: "10+10", Test: "paired cpu", Low: 2, High: 8, Bounded: true})
	assert.Equal(t, factory.VerdictPass, v.Status)
	assert.Equal(t, "1 benchmark(s) within 10%", v.Message)
	assert.Contains(t, v.Evidence[0], "99% interval +2.0% to +8.0%")
	v = judge(atLeast(1000, 250, 30*time.Second))
	assert.Equal(t, factory.VerdictFail, v.Status)
	assert.Contains(t, v.Evidence[0], "at least 250x slower")
	v = evalMaxRegression(inv, BenchFacts{Missing: []string{"BenchmarkX"}})
	assert.Equal(t, factory.VerdictFail, v.Status)
	assert.Equal(t, []string{"BenchmarkX ran on the baseline but not on the result (deleted, renamed, skipped or failing)"}, v.Evidence)
}
