package invariants

import (
	"bytes"
	"fmt"
	"math"
	"time"

	"golang.org/x/perf/benchfmt"
	"golang.org/x/perf/benchmath"
)

// comparePaired compares benchmarks measured in interleaved rounds. The
// ratio result/base within a round cancels the load the two shared; the
// change is the geometric mean of those ratios, and its significance the
// exact paired randomization test on their logarithms (under no change,
// each log ratio is as likely positive as negative). benchmath's
// Mann-Whitney test assumes independent samples and so cannot use the
// pairing; it still gives the medians.
//
// test names the basis in the evidence: "paired cpu" or "paired".
func comparePaired(base, result BenchFacts, roundsB, roundsR [][]byte, test string) map[string]BenchDelta {
	out := map[string]BenchDelta{}
	per := func(rounds [][]byte) []map[string]float64 {
		m := make([]map[string]float64, len(rounds))
		for i, r := range rounds {
			m[i] = map[string]float64{}
			if f, err := parseBench(r); err == nil {
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
		out[name] = BenchDelta{Base: b.Center, Center: r.Center, DeltaPct: math.Round(10000*(math.Exp(mean)-1)) / 100,
			P: p, Significant: p < benchThresholds.CompareAlpha, N: fmt.Sprintf("%d+%d", len(logs), len(logs)), Test: test}
	}
	return out
}

// signFlipP is the two-sided p-value of the paired randomization test: the
// share of the 2^n sign assignments of xs whose sum is at least as far from
// zero as the observed one. Exact up to 20 pairs, else from 1<<18
// assignments drawn with a fixed seed.
func signFlipP(xs []float64) float64 {
	obs := 0.0
	for _, x := range xs {
		obs += x
	}
	obs = math.Abs(obs) - 1e-12
	n := len(xs)
	sum := func(mask uint64) float64 {
		s := 0.0
		for i, x := range xs {
			if mask&(1<<uint(i)) != 0 {
				s -= x
			} else {
				s += x
			}
		}
		return s
	}
	if n <= 20 {
		hits := 0
		total := 1 << uint(n)
		for m := 0; m < total; m++ {
			if math.Abs(sum(uint64(m))) >= obs {
				hits++
			}
		}
		return float64(hits) / float64(total)
	}
	const draws = 1 << 18
	state := uint64(0x9e3779b97f4a7c15)
	hits := 0
	for d := 0; d < draws; d++ {
		state ^= state << 13
		state ^= state >> 7
		state ^= state << 17
		if math.Abs(sum(state)) >= obs {
			hits++
		}
	}
	return float64(hits+1) / float64(draws+1)
}

// parseBench reads Go benchmark output (benchfmt) into ns/op samples per
// benchmark, GOMAXPROCS suffix removed.
func parseBench(out []byte) (BenchFacts, error) {
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
var benchThresholds = benchmath.Thresholds{CompareAlpha: 0.01}

// compareBench fills cur.Compare from the baseline's samples.
func compareBench(cur, base BenchFacts) BenchFacts {
	out := BenchFacts{Benchmarks: cur.Benchmarks, Compare: map[string]BenchDelta{}}
	for name, r := range cur.Benchmarks {
		b, ok := base.Benchmarks[name]
		if !ok || len(b.Values) == 0 || len(r.Values) == 0 {
			continue
		}
		s1 := benchmath.NewSample(append([]float64{}, b.Values...), &benchThresholds)
		s2 := benchmath.NewSample(append([]float64{}, r.Values...), &benchThresholds)
		c := benchmath.AssumeNothing.Compare(s1, s2)
		d := BenchDelta{Base: b.Center, Center: r.Center, P: c.P, Significant: c.P < c.Alpha, N: fmt.Sprintf("%d+%d", c.N1, c.N2), Test: "mann-whitney"}
		if b.Center != 0 {
			d.DeltaPct = math.Round(10000*(r.Center/b.Center-1)) / 100
		}
		out.Compare[name] = d
	}
	return out
}

// fmtNs formats nanoseconds per op for evidence.
func fmtNs(ns float64) string {
	return time.Duration(ns).String()
}
