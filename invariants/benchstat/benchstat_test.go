package benchstat

import (
	"fmt"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// MinBenchCount is the fewest pairs whose test can reach Alpha.
func TestMinBenchCountCanReachAlpha(t *testing.T) {
	assert.Less(t, MinSignFlipP(MinBenchCount), Alpha)
	assert.Greater(t, MinSignFlipP(MinBenchCount-1), Alpha)
}

// The paired test's smallest p with n pairs, all differences of one sign,
// is 2/2^n: with 6 pairs a +365% slowdown is never significant, with 8 it is.
func TestSignFlipSmallestP(t *testing.T) {
	for _, n := range []int{6, 7, 8, 10} {
		xs := make([]float64, n)
		for i := range xs {
			xs[i] = math.Log(4.65) + 0.01*float64(i)
		}
		assert.InDelta(t, MinSignFlipP(n), signFlipP(xs), 1e-12, "n=%d", n)
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

func TestSignFlipP(t *testing.T) {
	same := []float64{0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2}
	// only all-plus and all-minus reach the observed sum
	assert.InDelta(t, 2.0/1024, signFlipP(same), 1e-12)
	assert.Equal(t, 1.0, signFlipP([]float64{1, -1, 1, -1}))
	// brute-force reference for a small mixed sample
	xs := []float64{0.3, -0.1, 0.25, 0.05, 0.4}
	obs := 0.0
	for _, x := range xs {
		obs += x
	}
	hits := 0
	for m := 0; m < 32; m++ {
		s := 0.0
		for i, x := range xs {
			if m>>i&1 == 1 {
				x = -x
			}
			s += x
		}
		if s >= obs-1e-9 || -s >= obs-1e-9 {
			hits++
		}
	}
	assert.InDelta(t, float64(hits)/32, signFlipP(xs), 1e-12)
	// the sampled path for long samples agrees with the exact bound
	long := make([]float64, 30)
	for i := range long {
		long[i] = 0.1
	}
	assert.Less(t, signFlipP(long), 1e-5)
}

// Interleaved rounds: whatever load slows a round slows both sides, and the
// paired comparison still sees a 30% change; the same samples compared as
// independent ones (Mann-Whitney) do not.
func TestComparePairedCancelsTheLoad(t *testing.T) {
	load := []float64{1, 4.5, 1.3, 7, 2, 1.1, 5, 3.3, 1.7, 6}
	var rb, rr [][]byte
	var allB, allR []byte
	for i, l := range load {
		jitter := 1 + 0.02*float64(i%3-1)
		b := []byte(fmt.Sprintf("BenchmarkX-2\t1000\t%.1f ns/op\n", 1000*l))
		r := []byte(fmt.Sprintf("BenchmarkX-2\t1000\t%.1f ns/op\n", 1300*l*jitter))
		rb, rr = append(rb, b), append(rr, r)
		allB, allR = append(allB, b...), append(allR, r...)
	}
	fb, err := Parse(allB)
	require.NoError(t, err)
	fr, err := Parse(allR)
	require.NoError(t, err)
	d := ComparePaired(fb, fr, rb, rr, "paired")["BenchmarkX"]
	assert.True(t, d.Significant, "%+v", d)
	assert.InDelta(t, 30, d.DeltaPct, 1)
	assert.Equal(t, "paired", d.Test)
	assert.False(t, Compare(fr, fb).Compare["BenchmarkX"].Significant, "unpaired, the load hides it")

	// no change: not significant
	d = ComparePaired(fb, fb, rb, rb, "paired")["BenchmarkX"]
	assert.False(t, d.Significant)
	assert.Equal(t, 0.0, d.DeltaPct)
}
