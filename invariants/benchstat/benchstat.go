// Package benchstat is the statistics of the bench gate: parsing `go test
// -bench` output and comparing two trees' benchmarks, paired or not, and
// judging a change against a regression budget. Pure functions over numbers.
package benchstat

import (
	"bytes"
	"fmt"
	"math"
	"slices"
	"time"

	"golang.org/x/perf/benchfmt"
	"golang.org/x/perf/benchmath"
)

// MinBenchCount is the fewest paired rounds whose test can reach
// significance: the smallest two-sided p of the sign-flip test on n pairs
// is 2/2^n, below 0.01 from 8 pairs on (2/256 = 0.0078; 7 give 0.016).
const MinBenchCount = 8

// MinSignFlipP is the smallest p the paired test can give with n pairs.
func MinSignFlipP(n int) float64 { return 2 / math.Pow(2, float64(n)) }

// ComparePaired compares benchmarks measured in interleaved rounds. The
// ratio result/base within a round cancels the load the two shared; the
// change is the geometric mean of those ratios, and its significance the
// exact paired randomization test on their logarithms (under no change,
// each log ratio is as likely positive as negative), its 99% confidence
// bounds that test inverted. benchmath's Mann-Whitney test assumes
// independent samples and so cannot use the pairing; it still gives the
// medians.
//
// test names the basis in the evidence: "paired cpu" or "paired".
func ComparePaired(base, result BenchFacts, roundsB, roundsR [][]byte, test string) map[string]BenchDelta {
	out := map[string]BenchDelta{}
	per := func(rounds [][]byte) []map[string]float64 {
		m := make([]map[string]float64, len(rounds))
		for i, r := range rounds {
			m[i] = map[string]float64{}
			if f, err := Parse(r); err == nil {
				for name, b := range f.Benchmarks {
					m[i][name] = b.Center
				}
			}
		}
		return m
	}
	pb, pr := per(roundsB), per(roundsR)
	for name, r := range result.Benchmarks {
		b, ok := base.Benchmarks[name]
		if !ok {
			continue
		}
		var logs []float64
		for i := range pb {
			vb, ok1 := pb[i][name]
			vr, ok2 := pr[i][name]
			if ok1 && ok2 && vb > 0 && vr > 0 {
				logs = append(logs, math.Log(vr/vb))
			}
		}
		if len(logs) == 0 {
			continue
		}
		mean := 0.0
		for _, l := range logs {
			mean += l
		}
		mean /= float64(len(logs))
		p := signFlipP(logs)
		d := BenchDelta{Base: b.Center, Center: r.Center, DeltaPct: pct(mean),
			P: p, Significant: p < benchThresholds.CompareAlpha, N: fmt.Sprintf("%d+%d", len(logs), len(logs)), Test: test}
		lo, hi, bounded := signFlipBounds(logs, benchThresholds.CompareAlpha/2)
		out[name] = withBounds(d, lo, hi, bounded)
	}
	return out
}

// pct is a log ratio as a percent change, to two decimals.
func pct(logRatio float64) float64 { return math.Round(10000*math.Expm1(logRatio)) / 100 }

// withBounds sets d's confidence bounds from log ratios, widened to hold
// DeltaPct itself whatever the test's estimate, so that a change reported
// as within a budget is never one whose own estimate is outside it.
func withBounds(d BenchDelta, lo, hi float64, bounded bool) BenchDelta {
	d.Low, d.Bounded = min(pct(lo), d.DeltaPct), bounded
	if bounded {
		d.High = max(pct(hi), d.DeltaPct)
	}
	return d
}

// exactFlips is the most pairs whose 2^n sign assignments are all
// counted (two halves of 2^15 sums, met in the middle); beyond, a fixed
// sample of assignments.
const exactFlips = 30

// flipShare is the share of the sign assignments s of ys (s_i = ±1) with
// sum(s_i * ys_i) <= t.
func flipShare(ys []float64, t float64) float64 {
	if len(ys) > exactFlips {
		return sampledFlipShare(ys, t)
	}
	a, b := signSums(ys[:len(ys)/2]), signSums(ys[len(ys)/2:])
	count, j := 0, len(b)
	for _, x := range a { // a ascending: the b that fit only shrink
		for j > 0 && x+b[j-1] > t {
			j--
		}
		count += j
	}
	return float64(count) / float64(len(a)*len(b))
}

// signSums returns the sums of all 2^len(ys) sign assignments, sorted.
func signSums(ys []float64) []float64 {
	sums := []float64{0}
	for _, y := range ys {
		next := make([]float64, 0, 2*len(sums))
		for _, s := range sums {
			next = append(next, s+y, s-y)
		}
		sums = next
	}
	slices.Sort(sums)
	return sums
}

// sampledFlipShare estimates flipShare from 1<<16 assignments drawn with a
// fixed seed (so one sample always gets the same answer), counting the
// observed assignment itself as the permutation tests' convention does.
func sampledFlipShare(ys []float64, t float64) float64 {
	const draws = 1 << 16
	state := uint64(0x9e3779b97f4a7c15)
	hits := 0
	for range draws {
		state ^= state << 13
		state ^= state >> 7
		state ^= state << 17
		s := 0.0
		for i, y := range ys {
			if state&(1<<uint(i)) != 0 {
				s -= y
			} else {
				s += y
			}
		}
		if s <= t {
			hits++
		}
	}
	return float64(hits+1) / float64(draws+1)
}

// flipTol absorbs the rounding of sums of xs, so the observed assignment
// always counts as reaching itself.
func flipTol(xs []float64) float64 {
	s := 0.0
	for _, x := range xs {
		s += math.Abs(x)
	}
	return 1e-9 * (s + 1)
}

// signFlipP is the two-sided p-value of the paired randomization test: the
// share of the 2^n sign assignments of xs whose sum is at least as far from
// zero as the observed one (by symmetry, twice the share at or below minus
// the observed distance).
func signFlipP(xs []float64) float64 {
	obs := 0.0
	for _, x := range xs {
		obs += x
	}
	return min(1, 2*flipShare(xs, -math.Abs(obs)+flipTol(xs)))
}

// signFlipBounds inverts the paired test: hi is the least shift d at which
// xs lie significantly below d (one-sided, at alpha), lo the greatest at
// which they lie significantly above. bounded is false when no shift is
// significant: fewer pairs than the test needs (2^-n > alpha).
func signFlipBounds(xs []float64, alpha float64) (lo, hi float64, bounded bool) {
	if len(xs) == 0 || math.Pow(2, -float64(len(xs))) > alpha {
		return math.Inf(-1), math.Inf(1), false
	}
	neg := make([]float64, len(xs))
	for i, x := range xs {
		neg[i] = -x
	}
	return -flipUpper(neg, alpha), flipUpper(xs, alpha), true
}

// flipUpper is the least shift d at which xs - d are significantly below
// zero, found by bisection between their mean (never significant) and
// just past their largest (every difference negative: p = 2^-n).
func flipUpper(xs []float64, alpha float64) float64 {
	lo, hi := 0.0, math.Inf(-1)
	for _, x := range xs {
		lo += x / float64(len(xs))
		hi = max(hi, x)
	}
	hi += 1e-6
	below := func(d float64) bool {
		ys, obs := make([]float64, len(xs)), 0.0
		for i, x := range xs {
			ys[i], obs = math.Abs(x-d), obs+x-d
		}
		return flipShare(ys, obs+flipTol(ys)) <= alpha
	}
	for hi-lo > 1e-5 {
		if mid := (lo + hi) / 2; below(mid) {
			hi = mid
		} else {
			lo = mid
		}
	}
	return hi
}

// Parse reads Go benchmark output (benchfmt) into ns/op samples per
// benchmark, GOMAXPROCS suffix removed.
func Parse(out []byte) (BenchFacts, error) {
	samples := map[string][]float64{}
	rd := benchfmt.NewReader(bytes.NewReader(out), "bench")
	for rd.Scan() {
		res, ok := rd.Result().(*benchfmt.Result)
		if !ok {
			continue
		}
		v, ok := res.Value("sec/op")
		if !ok {
			continue
		}
		base, parts := res.Name.Parts()
		name := "Benchmark" + string(base)
		for _, p := range parts {
			if len(p) > 0 && p[0] == '/' {
				name += string(p)
			}
		}
		samples[name] = append(samples[name], v*1e9)
	}
	f := BenchFacts{Benchmarks: map[string]BenchResult{}, Compare: map[string]BenchDelta{}}
	for name, vs := range samples {
		s := benchmath.NewSample(vs, &benchmath.DefaultThresholds)
		sum := benchmath.AssumeNothing.Summary(s, 0.95)
		f.Benchmarks[name] = BenchResult{Center: sum.Center, N: len(vs), Values: s.Values}
	}
	return f, nil
}

// benchThresholds is stricter than benchmath's default alpha of 0.05: a
// gate that rejects changes must not cry wolf on a noisy machine.
var benchThresholds = benchmath.Thresholds{CompareAlpha: Alpha}

// Alpha is the significance level of every comparison.
const Alpha = 0.01

// Compare fills cur.Compare from the baseline's samples.
func Compare(cur, base BenchFacts) BenchFacts {
	out := BenchFacts{Benchmarks: cur.Benchmarks, Compare: map[string]BenchDelta{}, Missing: MissingFrom(base, cur)}
	for name, r := range cur.Benchmarks {
		b, ok := base.Benchmarks[name]
		if !ok || len(b.Values) == 0 || len(r.Values) == 0 {
			continue
		}
		s1 := benchmath.NewSample(append([]float64{}, b.Values...), &benchThresholds)
		s2 := benchmath.NewSample(append([]float64{}, r.Values...), &benchThresholds)
		c := benchmath.AssumeNothing.Compare(s1, s2)
		d := BenchDelta{Base: b.Center, Center: r.Center, P: c.P, Significant: c.P < c.Alpha, N: fmt.Sprintf("%d+%d", c.N1, c.N2), Test: "mann-whitney"}
		if b.Center > 0 && r.Center > 0 {
			d.DeltaPct = pct(math.Log(r.Center / b.Center))
			lo, hi, bounded := mannWhitneyBounds(b.Values, r.Values)
			d = withBounds(d, lo, hi, bounded)
		}
		out.Compare[name] = d
	}
	return out
}

// MissingFrom lists the benchmarks of base that cur lacks, sorted.
func MissingFrom(base, cur BenchFacts) []string {
	var out []string
	for name := range base.Benchmarks {
		if _, ok := cur.Benchmarks[name]; !ok {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// mannWhitneyBounds inverts the Mann-Whitney test: the log shifts d at
// which the result's samples differ significantly from the baseline's
// scaled by e^d, bisected from the medians' ratio outwards. bounded is
// false when the samples are too few for the test to ever be significant.
func mannWhitneyBounds(base, result []float64) (lo, hi float64, bounded bool) {
	sig := func(d float64) bool {
		scaled := make([]float64, len(base))
		for i, v := range base {
			scaled[i] = v * math.Exp(d)
		}
		s1 := benchmath.NewSample(scaled, &benchThresholds)
		s2 := benchmath.NewSample(append([]float64{}, result...), &benchThresholds)
		c := benchmath.AssumeNothing.Compare(s1, s2)
		return c.P < c.Alpha
	}
	bmin, bmax := slices.Min(base), slices.Max(base)
	rmin, rmax := slices.Min(result), slices.Max(result)
	if bmin <= 0 || rmin <= 0 {
		return math.Inf(-1), math.Inf(1), false
	}
	mid := math.Log(benchmath.NewSample(append([]float64{}, result...), &benchThresholds).Values[len(result)/2] /
		benchmath.NewSample(append([]float64{}, base...), &benchThresholds).Values[len(base)/2])
	// past these shifts every scaled sample lies beyond every result
	far := [2]float64{math.Log(rmin/bmax) - 1e-6, math.Log(rmax/bmin) + 1e-6}
	if !sig(far[0]) || !sig(far[1]) {
		return math.Inf(-1), math.Inf(1), false
	}
	bisect := func(in, out float64) float64 {
		for math.Abs(out-in) > 1e-5 {
			if m := (in + out) / 2; sig(m) {
				out = m
			} else {
				in = m
			}
		}
		return out
	}
	if sig(mid) { // the medians' ratio itself is no shift the test accepts
		return mid, mid, true
	}
	return bisect(mid, far[0]), bisect(mid, far[1]), true
}

// TestIdentical is the BenchDelta.Test of a benchmark that was not
// measured because nothing it runs changed: both sides' test binaries are
// byte for byte the same and the change touched no file a benchmark could
// read as data.
const TestIdentical = "identical binary"

// A benchmark's change judged against a budget.
const (
	Within = iota // the upper confidence bound is within the budget
	Slower        // the lower confidence bound is beyond it
	Unsure        // neither: the rounds cannot tell
)

// Judge judges d against a budget of percent and says why in one
// evidence line.
func Judge(name string, d BenchDelta, percent float64) (string, int) {
	if d.Test == "budget" {
		return fmt.Sprintf("%s: %s -> at least %s (at least %.0fx slower: the result could not be measured within the gate's budget)", name, fmtNs(d.Base), fmtNs(d.Center), 1+d.DeltaPct/100), Slower
	}
	if d.Test == TestIdentical {
		return fmt.Sprintf("%s: %s, unchanged, not measured: its test binary is identical on both sides and the change touched only Go files outside its package", name, fmtNs(d.Base)), Within
	}
	ci := "unbounded above: too few rounds"
	if d.Bounded {
		ci = fmt.Sprintf("99%% interval %+.1f%% to %+.1f%%", d.Low, d.High)
	}
	line := fmt.Sprintf("%s: %s -> %s (%+.1f%%, %s, p=%.3f, n=%s, %s)", name, fmtNs(d.Base), fmtNs(d.Center), d.DeltaPct, ci, d.P, d.N, d.Test)
	switch {
	case d.Low > percent:
		return line, Slower
	case d.Bounded && d.High <= percent:
		return line, Within
	case d.DeltaPct > percent:
		return line + fmt.Sprintf(" inconclusive: %+.1f%% is over the %g%% budget, but not significantly (the interval reaches %+.1f%%); raise count", d.DeltaPct, percent, d.Low), Unsure
	}
	return line + fmt.Sprintf(" inconclusive: the change may exceed the %g%% budget; raise count or benchtime, or quiet the machine", percent), Unsure
}

// fmtNs formats nanoseconds per op for evidence.
func fmtNs(ns float64) string {
	return time.Duration(ns).String()
}

// BenchResult is one benchmark's measurements on one tree.
type BenchResult struct {
	Center float64   `json:"center" expr:"center"` // median ns/op
	N      int       `json:"n" expr:"n"`
	Values []float64 `json:"values" expr:"values"` // ns/op per run
}

// BenchDelta compares one benchmark with the baseline: for paired rounds
// the paired randomization test on per-round ratios, else the Mann-Whitney
// U test of golang.org/x/perf/benchmath. Test "paired cpu" means the
// values are CPU-ns/op (the process's CPU time per iteration, its start-up
// subtracted), not the ns/op the benchmark reported.
type BenchDelta struct {
	Base        float64 `json:"base" expr:"base"`     // baseline median ns/op
	Center      float64 `json:"center" expr:"center"` // this tree's median ns/op
	DeltaPct    float64 `json:"delta_pct" expr:"delta_pct"`
	P           float64 `json:"p" expr:"p"`
	Significant bool    `json:"significant" expr:"significant"` // p < 0.01
	N           string  `json:"n" expr:"n"`                     // "10+10"
	Test        string  `json:"test" expr:"test"`               // "paired cpu", "paired" (paired rounds), "mann-whitney", "budget" or TestIdentical
	// Low and High bound DeltaPct with 99% confidence (the same test,
	// inverted). High holds only when Bounded: too few rounds, or a result
	// too slow to measure within the gate's budget (Test "budget", DeltaPct
	// and Low then the least slowdown seen), bound it from below only.
	Low     float64 `json:"low_pct" expr:"low_pct"`
	High    float64 `json:"high_pct" expr:"high_pct"`
	Bounded bool    `json:"bounded" expr:"bounded"`
}

// BenchFacts are a bench gate's facts. Compare is filled when a baseline
// exists.
type BenchFacts struct {
	Benchmarks map[string]BenchResult `json:"benchmarks" expr:"benchmarks"`
	Compare    map[string]BenchDelta  `json:"compare" expr:"compare"`
	// Missing are the benchmarks that ran on the baseline but not on this
	// tree (deleted, renamed, skipped or failing): a benchmark that no
	// longer runs must not pass as one that did not regress.
	Missing []string `json:"missing,omitempty" expr:"missing"`
}
