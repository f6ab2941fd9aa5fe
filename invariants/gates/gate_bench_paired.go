package gates

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/factory-dev/factory"
	"github.com/factory-dev/factory/invariants/benchstat"
	"github.com/factory-dev/factory/invariants/rules"
	"golang.org/x/perf/benchfmt"
)

// DefaultBenchBudget is how long a paired bench gate may measure (after
// building) when its budget is not set: well inside an MCP client's usual
// 60 s request timeout, with the other gates' time to spare.
const DefaultBenchBudget = 30 * time.Second

// benchReps is how many times a paired round runs the two sides (at once),
// keeping each side's fastest: on a shared machine a neighbour's burst
// inflates even CPU time (a busy sibling hyperthread on the host halves a
// vCPU's speed), and the faster of two short runs is the one it spared.
const benchReps = 2

// benchSide is one tree of a paired comparison: index 0 the baseline, 1
// the result.
type benchSide struct {
	run  Tree
	bins []benchBin
}

// onSide names the side an error came from: the result's errors are the
// change's, the baseline's say so (as a baselineErr).
func onSide(k int, err error) error {
	if k == 0 && err != nil {
		return baselineErr{err}
	}
	return err
}

// baselineErr is an error on the baseline's side of a paired gate.
type baselineErr struct{ err error }

func (e baselineErr) Error() string { return "on the baseline: " + e.err.Error() }
func (e baselineErr) Unwrap() error { return e.err }

// resultStopped says whether err is the budget stopping the result's side.
func resultStopped(err error) bool {
	var ob overBudget
	var be baselineErr
	return errors.As(err, &ob) && !errors.As(err, &be)
}

// overBudget is the error of a measurement the gate's budget cut short.
type overBudget struct{ ran time.Duration }

func (e overBudget) Error() string {
	return fmt.Sprintf("stopped at the budget after %s", e.ran.Round(time.Millisecond))
}

// PairedBench runs a bench gate on the base and the result in paired
// rounds, both sides of a round at the same time, so that a busy machine
// slows both sides of a round alike. It returns both sides' facts, the
// result's with Compare filled by comparePaired.
//
// The rounds are judged on CPU time, not wall time: on a loaded machine a
// benchmark's wall-clock ns/op swings by half between rounds, since it
// waits for the processor; the CPU it burns moves much less. A calibration
// run (the usual timed -benchtime) gives each top-level benchmark
// function's cost on each side; every round then runs each function in its
// own process for a fixed iteration count (-test.benchtime=Nx: one count
// for both sides when their costs are alike, so F's error cancels, else
// each side sized for itself, so a much slower result runs fewer
// iterations, not longer rounds; see shareSize), and its CPU-ns/op is
// (CPU - F) / N, F the process's fixed cost (see planJob). Even CPU time
// is inflated when a neighbour thrashes the shared caches or the host's
// cores, so within a round the two sides run at the same time (whatever
// slows one slows the other, and they take turns starting first) and
// benchReps times, keeping each side's least. Sub-benchmarks
// share their function's CPU in proportion to the ns/op they report. When
// the runner reports no CPU (CommandResult.CPU zero) a round falls back to
// the reported ns/op, and the evidence says "paired" instead of "paired
// cpu".
//
// Measuring stops at the gate's budget (DefaultBenchBudget): a result too
// slow to measure within it gets Compare entries of Test "budget", the
// least slowdown observed; a baseline too slow for it is an error.
func PairedBench(ctx context.Context, base, result Tree, g rules.Gate) (benchstat.BenchFacts, benchstat.BenchFacts, error) {
	sides := [2]*benchSide{{run: base}, {run: result}}
	if err := buildSides(ctx, g, sides); err != nil {
		return benchstat.BenchFacts{}, benchstat.BenchFacts{}, err
	}
	budget := g.Budget
	if budget <= 0 {
		budget = DefaultBenchBudget
	}
	start := time.Now()
	deadline := start.Add(budget)
	if sameBenchmarks(sides, result.diff) {
		return identicalFacts(ctx, g, sides[0], deadline)
	}
	cal, took, err := calibrateSides(ctx, g, sides, deadline)
	if resultStopped(err) && took[0] > 0 {
		// the result's calibration ran past the budget, the baseline's not
		return tooSlowFacts(cal[0], time.Since(start), took[0], budget)
	}
	if err != nil {
		return benchstat.BenchFacts{}, benchstat.BenchFacts{}, budgetHint(err, budget)
	}
	jobs := benchJobs(g, cal[0], cal[1])
	if len(jobs) == 0 {
		return benchstat.BenchFacts{}, benchstat.BenchFacts{}, factory.Errorf(factory.EINVALID, "no benchmark ran (pattern %q)", g.Bench)
	}
	for j := range jobs {
		if err := planJob(ctx, g, sides, &jobs[j], deadline); err != nil {
			return stopped(err, jobs, budget)
		}
	}
	if fb, fr, stop, err := overPlan(g, jobs, deadline, budget); stop {
		return fb, fr, err
	}
	fb, fr, err := pairedRounds(ctx, g, sides, jobs, deadline)
	if err != nil {
		return stopped(err, jobs, budget)
	}
	return fb, fr, nil
}

// stopped answers an error while planning or measuring: when the budget
// stopped the result's side and the result is clearly slower (its
// calibrated cost over twice the baseline's), it fails as at least that
// much slower; otherwise the error stands, with what to do about it.
func stopped(err error, jobs []benchJob, budget time.Duration) (benchstat.BenchFacts, benchstat.BenchFacts, error) {
	fb := benchstat.BenchFacts{Benchmarks: map[string]benchstat.BenchResult{}, Compare: map[string]benchstat.BenchDelta{}}
	fr := benchstat.BenchFacts{Benchmarks: map[string]benchstat.BenchResult{}, Compare: map[string]benchstat.BenchDelta{}}
	if resultStopped(err) {
		for _, job := range jobs {
			if job.cal[0] > 0 && job.cal[1] > 2*job.cal[0] {
				fb.Benchmarks[job.top] = benchstat.BenchResult{Center: job.cal[0], N: 1, Values: []float64{job.cal[0]}}
				fr.Compare[job.top] = AtLeast(job.cal[0], job.cal[1]/job.cal[0], budget)
			}
		}
	}
	if len(fr.Compare) > 0 {
		return fb, fr, nil
	}
	return benchstat.BenchFacts{}, benchstat.BenchFacts{}, budgetHint(err, budget)
}

// budgetHint says what to do when the budget cut the baseline (or a round)
// short; other errors pass through.
func budgetHint(err error, budget time.Duration) error {
	var ob overBudget
	if !errors.As(err, &ob) {
		return err
	}
	return factory.Errorf(factory.EINVALID, "%v: the benchmarks did not finish within the gate's budget of %s; raise budget, or narrow pattern or packages", err, budget)
}

// buildSides compiles both sides' test binaries at once (two go builds
// share the machine better than they wait for each other).
func buildSides(ctx context.Context, g rules.Gate, sides [2]*benchSide) error {
	var errs [2]error
	var wg sync.WaitGroup
	for k, sd := range sides {
		wg.Go(func() { sd.bins, errs[k] = sd.run.benchBinaries(ctx, g) })
	}
	wg.Wait()
	return errors.Join(onSide(0, errs[0]), errs[1])
}

// calibrateSides calibrates both sides at once; took is each side's
// calibration wall time, zero for a side that did not finish.
func calibrateSides(ctx context.Context, g rules.Gate, sides [2]*benchSide, deadline time.Time) (cal [2]map[string]map[string]float64, took [2]time.Duration, err error) {
	var errs [2]error
	var wg sync.WaitGroup
	for k, sd := range sides {
		wg.Go(func() { cal[k], took[k], errs[k] = sd.run.benchCalibrate(ctx, g, sd.bins, deadline) })
	}
	wg.Wait()
	if errs[0] != nil {
		return cal, took, onSide(0, errs[0])
	}
	return cal, took, errs[1]
}

// tooSlowFacts are the facts of a result whose calibration ran past the
// budget: its run took at least ran where the baseline's took base, so
// each of the baseline's benchmarks is at least ran/base times slower.
func tooSlowFacts(calB map[string]map[string]float64, ran, base, budget time.Duration) (benchstat.BenchFacts, benchstat.BenchFacts, error) {
	times := float64(ran) / float64(base)
	fb := benchstat.BenchFacts{Benchmarks: map[string]benchstat.BenchResult{}, Compare: map[string]benchstat.BenchDelta{}}
	fr := benchstat.BenchFacts{Benchmarks: map[string]benchstat.BenchResult{}, Compare: map[string]benchstat.BenchDelta{}}
	for _, tops := range calB {
		for name, ns := range tops {
			fb.Benchmarks[name] = benchstat.BenchResult{Center: ns, N: 1, Values: []float64{ns}}
			fr.Compare[name] = AtLeast(ns, times, budget)
		}
	}
	return fb, fr, nil
}

// AtLeast is the comparison of a benchmark the budget stopped: at least
// times slower than its baseline cost of ns.
func AtLeast(ns, times float64, budget time.Duration) benchstat.BenchDelta {
	pct := math.Floor(100 * (times - 1))
	return benchstat.BenchDelta{Base: ns, Center: ns * times, DeltaPct: pct, Low: pct, Significant: true, N: "budget " + budget.String(), Test: "budget"}
}

// pairedRounds runs the planned rounds and compares them.
func pairedRounds(ctx context.Context, g rules.Gate, sides [2]*benchSide, jobs []benchJob, deadline time.Time) (benchstat.BenchFacts, benchstat.BenchFacts, error) {
	_, count, _ := benchDefaults(g)
	var rounds [2][][]byte
	cpu := true
	var last time.Duration
	round := func() error {
		t0 := time.Now()
		var out [2][]byte
		for _, job := range jobs {
			best, onCPU, err := pairedRound(ctx, g, sides, job, deadline)
			if err != nil {
				return err
			}
			cpu = cpu && onCPU
			for side, m := range best {
				out[side] = appendBenchLines(out[side], job.n[side], m)
			}
		}
		rounds[0], rounds[1] = append(rounds[0], out[0]), append(rounds[1], out[1])
		last = time.Since(t0)
		return nil
	}
	for i := 0; i < count; i++ {
		if err := round(); err != nil {
			return benchstat.BenchFacts{}, benchstat.BenchFacts{}, err
		}
	}
	for {
		fb, fr, err := pairedFacts(g, rounds, cpu)
		// A busy machine widens the interval: while it cannot yet say
		// within or over the tightest budget, more rounds (up to three
		// times count, and within the gate's time budget) narrow it.
		if err != nil || !undecided(fr.Compare, g.DecideAt()) || len(rounds[0]) >= 3*count || time.Until(deadline) < 2*last {
			return fb, fr, err
		}
		if err := round(); err != nil {
			return fb, fr, nil // keep what was measured: the budget ran out mid-round
		}
	}
}

// pairedFacts compares what the rounds measured on both sides.
func pairedFacts(g rules.Gate, rounds [2][][]byte, cpu bool) (benchstat.BenchFacts, benchstat.BenchFacts, error) {
	fb, err := benchFacts(g, bytes.Join(rounds[0], nil))
	if err != nil {
		return benchstat.BenchFacts{}, benchstat.BenchFacts{}, onSide(0, err)
	}
	// a result on which no benchmark ran is judged (every benchmark
	// Missing), not an error
	fr, err := benchstat.Parse(bytes.Join(rounds[1], nil))
	if err != nil {
		return benchstat.BenchFacts{}, benchstat.BenchFacts{}, err
	}
	test := "paired"
	if cpu {
		test = "paired cpu"
	}
	fr.Compare = benchstat.ComparePaired(fb, fr, rounds[0], rounds[1], test)
	fr.Missing = benchstat.MissingFrom(fb, fr)
	return fb, fr, nil
}

// undecided reports whether some benchmark's interval can say neither
// "within pct" nor "over pct" yet; false when no budget reads the gate.
func undecided(cmp map[string]benchstat.BenchDelta, pct float64) bool {
	if pct <= 0 {
		return false
	}
	for _, d := range cmp {
		if d.Test == "budget" {
			continue
		}
		if d.Low <= pct && !(d.Bounded && d.High <= pct) {
			return true
		}
	}
	return false
}

// pairedRound runs job on both sides at once, benchReps times, and keeps
// each side's least ns/op per benchmark. cpu is false when a side reported
// no CPU time, so the values are the benchmarks' own ns/op.
func pairedRound(ctx context.Context, g rules.Gate, sides [2]*benchSide, job benchJob, deadline time.Time) (best [2]map[string]float64, cpu bool, err error) {
	cpu = true
	for rep := 0; rep < benchReps; rep++ {
		// both sides at once: whatever slows the machine's shared
		// parts (caches, memory, the host's cores) then slows both
		var wall, onCPU [2]map[string]float64
		var errs [2]error
		var wg sync.WaitGroup
		for i := range 2 {
			// the side started first takes turns: the other starts
			// while it already runs
			side := i ^ (rep & 1)
			wg.Go(func() { wall[side], onCPU[side], errs[side] = sides[side].round(ctx, g, side, job, deadline) })
		}
		wg.Wait()
		// CPU when both sides have it (or only one side runs the
		// package), else what the benchmarks reported
		vals := onCPU
		for side := range 2 {
			if wall[side] != nil && onCPU[side] == nil {
				vals, cpu = wall, false
			}
		}
		for side := range 2 {
			if err := errs[side]; err != nil {
				return best, cpu, onSide(side, err)
			}
			for name, v := range vals[side] {
				if best[side] == nil {
					best[side] = map[string]float64{}
				}
				if old, ok := best[side][name]; !ok || v < old {
					best[side][name] = v
				}
			}
		}
	}
	return best, cpu, nil
}

// appendBenchLines appends one benchmark result line per name in m, in
// name order, as go test -bench writes them.
func appendBenchLines(out []byte, n int64, m map[string]float64) []byte {
	names := make([]string, 0, len(m))
	for name := range m {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		out = fmt.Appendf(out, "%s\t%d\t%g ns/op\n", name, n, m[name])
	}
	return out
}

// benchJob is one top-level benchmark function of one package, run in
// its own process with a fixed iteration count per side in every paired
// round. Arrays are per side (0 the baseline, 1 the result); a zero cal
// means the function is not on that side.
type benchJob struct {
	pkg     string // import path
	top     string // the benchmark function
	pattern string // -test.bench
	n       [2]int64
	fixedN  bool // n is the gate's own ("benchtime: Nx"), not to be resized
	target  time.Duration
	cal     [2]float64       // calibration ns/op (wall)
	fixed   [2]time.Duration // F, the fixed CPU cost of a run (see planJob); zero when unknown
	run     [2]time.Duration // a planned run's expected wall time
}

// benchCalibrate runs every binary once with the gate's pattern and
// benchtime and returns, per package, each top-level benchmark function's
// summed ns/op (over its sub-benchmarks), and the runs' wall time.
func (r Tree) benchCalibrate(ctx context.Context, g rules.Gate, bins []benchBin, deadline time.Time) (map[string]map[string]float64, time.Duration, error) {
	pat, _, bt := benchDefaults(g)
	cal := map[string]map[string]float64{}
	var took time.Duration
	for _, b := range bins {
		res, err := r.benchRun(ctx, g, b, pat, bt, deadline)
		took += res.Duration
		if err != nil {
			return nil, 0, err
		}
		f, err := benchstat.Parse(res.Stdout)
		if err != nil {
			return nil, 0, err
		}
		m := map[string]float64{}
		for name, br := range f.Benchmarks {
			top, _, _ := strings.Cut(name, "/")
			m[top] += br.Center
		}
		cal[b.pkg] = m
	}
	return cal, took, nil
}

// benchRun runs one binary's benchmarks matching pat once, cut short at
// deadline (an overBudget error; no deadline when it is zero).
func (r Tree) benchRun(ctx context.Context, g rules.Gate, b benchBin, pat, benchtime string, deadline time.Time) (CommandResult, error) {
	timeout := g.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Minute
	}
	left := time.Until(deadline)
	if deadline.IsZero() {
		left = timeout // no budget: the gate's timeout alone
	}
	if left <= 0 {
		return CommandResult{}, overBudget{}
	}
	res, err := r.runner.RunCommand(ctx, Command{Argv: []string{b.bin, "-test.run=^$", "-test.bench=" + pat, "-test.benchtime=" + benchtime, "-test.count=1"},
		Dir: b.dir, Root: r.dir, Env: g.Env, Timeout: min(timeout, left), Policy: r.cfg.Sandbox})
	if err != nil {
		return res, err
	}
	if res.TimedOut && left < timeout {
		return res, overBudget{ran: res.Duration}
	}
	if res.ExitCode != 0 {
		return res, factory.Errorf(factory.EINVALID, "benchmarks failed (exit code %d): %s", res.ExitCode, excerpt(append(res.Stdout, res.Stderr...), 3, 10))
	}
	return res, nil
}

// benchJobs plans the paired rounds from both sides' calibrations: one job
// per top-level benchmark function of a package, each side with an
// iteration count that makes it burn about the gate's benchtime (its count
// when given as "Nx") per round, from its own cost: a result ten times
// slower runs a tenth of the iterations, so its rounds take no longer.
func benchJobs(g rules.Gate, calB, calR map[string]map[string]float64) []benchJob {
	pat, _, bt := benchDefaults(g)
	var fixedN int64
	target := 20 * time.Millisecond
	if n, ok := strings.CutSuffix(bt, "x"); ok {
		if v, err := strconv.ParseInt(n, 10, 64); err == nil {
			fixedN = v
		}
	} else if d, err := time.ParseDuration(bt); err == nil && d > 0 {
		target = d
	}
	// levels below the top one of the gate's pattern still select
	// sub-benchmarks
	rest := ""
	if i := strings.Index(pat, "/"); i >= 0 {
		rest = pat[i:]
	}
	cals := [2]map[string]map[string]float64{calB, calR}
	var jobs []benchJob
	seen := map[[2]string]bool{}
	for _, cal := range cals {
		for _, p := range slices.Sorted(maps.Keys(cal)) {
			for _, top := range slices.Sorted(maps.Keys(cal[p])) {
				if seen[[2]string{p, top}] {
					continue
				}
				seen[[2]string{p, top}] = true
				job := benchJob{pkg: p, top: top, pattern: "^" + regexp.QuoteMeta(top) + "$" + rest, fixedN: fixedN > 0, target: target}
				for k := range 2 {
					ns, ok := cals[k][p][top]
					if !ok {
						continue
					}
					job.cal[k] = max(ns, 1)
					job.n[k] = fixedN
					if fixedN == 0 {
						job.n[k] = int64(math.Ceil(float64(target) / job.cal[k]))
					}
					job.n[k] = max(job.n[k], 2)
				}
				jobs = append(jobs, job)
			}
		}
	}
	return jobs
}

// bin finds the side's binary of pkg.
func (s *benchSide) bin(pkg string) (benchBin, bool) {
	for _, b := range s.bins {
		if b.pkg == pkg {
			return b, true
		}
	}
	return benchBin{}, false
}

// onBothSides runs fn for each side that has job's package, the two at
// once, and returns the first error (the baseline's said so).
func onBothSides(sides [2]*benchSide, job *benchJob, fn func(k int, sd *benchSide, b benchBin) error) error {
	var errs [2]error
	var wg sync.WaitGroup
	for k, sd := range sides {
		b, has := sd.bin(job.pkg)
		if !has || job.n[k] == 0 {
			continue
		}
		wg.Go(func() { errs[k] = fn(k, sd, b) })
	}
	wg.Wait()
	return errors.Join(onSide(0, errs[0]), errs[1])
}

// planJob measures job's fixed costs and sizes its runs. F, the CPU of a
// -test.benchtime=1x run, holds the process start-up (in the sandbox some
// 30 ms: bwrap, mounts, the re-executed init, the test binary), the
// benchmark's set-up and one iteration (the testing package always runs
// one alone first; an Nx run then does exactly N more). The start-up is
// shared: the median over three 1x runs per side of their CPU less the
// side's calibrated iteration, so an unchanged benchmark's sides subtract
// the same F (an F measured per side would differ by its noise, a bias
// that every round repeats) while a much slower side still subtracts its
// own longer first iteration. F varies by several ms from run to run, so
// planJob then sizes each side's n for runs of max(benchtime, 2F) of CPU in
// the benchmark itself, from two probe runs per side (the calibration's
// wall-clock ns/op overstates the CPU on a busy machine). A runner that
// reports no CPU leaves F zero.
func planJob(ctx context.Context, g rules.Gate, sides [2]*benchSide, job *benchJob, deadline time.Time) error {
	var ones [2][]time.Duration
	err := onBothSides(sides, job, func(k int, sd *benchSide, b benchBin) error {
		for range 3 {
			res, err := sd.run.benchRun(ctx, g, b, job.pattern, "1x", deadline)
			if err != nil {
				return err
			}
			ones[k] = append(ones[k], res.CPU)
		}
		return nil
	})
	if err != nil {
		return err
	}
	var startup []time.Duration
	for k := range 2 {
		for _, c := range ones[k] {
			if c <= 0 {
				return nil
			}
			startup = append(startup, c-time.Duration(job.cal[k]))
		}
	}
	slices.Sort(startup)
	s := startup[len(startup)/2]
	for k := range 2 {
		if job.n[k] > 0 {
			job.fixed[k] = s + time.Duration(job.cal[k])
		}
	}
	if job.fixedN {
		return nil
	}
	return job.probe(ctx, g, sides, max(job.target, 2*s), deadline)
}

// probe runs each side's planned run twice, the sides at once as the
// rounds run them, and resizes n for want of CPU in the benchmark itself,
// on the least CPU seen (a probe slowed by a busy moment would make the
// runs too short for F's noise). Sides of alike cost then share n and F
// (see shareSize). It also records each run's expected wall time, for the
// budget.
func (job *benchJob) probe(ctx context.Context, g rules.Gate, sides [2]*benchSide, want time.Duration, deadline time.Time) error {
	var least [2]time.Duration
	var ratio [2]float64 // wall per CPU
	for range 2 {
		err := onBothSides(sides, job, func(k int, sd *benchSide, b benchBin) error {
			res, err := sd.run.benchRun(ctx, g, b, job.pattern, fmt.Sprintf("%dx", job.n[k]), deadline)
			if err != nil {
				return err
			}
			if w := res.CPU - job.fixed[k]; w > 0 && (least[k] == 0 || w < least[k]) {
				least[k] = w
			}
			if res.CPU > 0 {
				ratio[k] = max(ratio[k], float64(res.Duration)/float64(res.CPU))
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	var perOp [2]float64
	for k := range 2 {
		if job.n[k] == 0 {
			continue
		}
		perOp[k] = job.cal[k]
		if least[k] > 0 {
			perOp[k] = float64(least[k]) / float64(job.n[k])
			job.n[k] = int64(math.Ceil(float64(job.n[k]) * float64(want) / float64(least[k])))
		} else {
			job.n[k] *= 4
		}
		job.n[k] = max(job.n[k], 2)
	}
	job.shareSize(perOp)
	for k := range 2 {
		job.run[k] = time.Duration(max(ratio[k], 1) * (float64(job.fixed[k]) + perOp[k]*float64(job.n[k])))
	}
	return nil
}

// alikeCost is the most two sides' costs per iteration may differ by for
// them to share an iteration count: under load the calibration and the
// probes each misjudge an unchanged benchmark's two sides by 1.5x, now
// and then by 2.5x (either look within alikeCost suffices).
const alikeCost = 2.0

// shareSize gives both sides of job the same n (the geometric mean of the
// two, the best guess when the costs are the same) and the same F when
// their costs per iteration are alike by the calibration or by the probes
// (perOp), two independent looks, so noise rarely splits an unchanged
// benchmark. A side's CPU-ns/op is (CPU - F) / n, and the F subtracted
// misses the run's true fixed cost by several ms (start-up under load),
// an error e that the rounds share: with one n on both sides it is the
// same e/n on both and the ratio stays 1; with n sized per side (noise
// alone makes them differ by up to 4x) each side carries its own offset,
// which every round repeats (identical code measured 0.89 to 1.11 per
// comparison). Sides far apart keep their own n, so a much slower result
// runs fewer iterations rather than longer rounds; its offset is small
// beside the change.
func (job *benchJob) shareSize(perOp [2]float64) {
	if job.n[0] == 0 || job.n[1] == 0 || !(alike(job.cal[0], job.cal[1]) || alike(perOp[0], perOp[1])) {
		return
	}
	n := max(int64(math.Round(math.Sqrt(float64(job.n[0])*float64(job.n[1])))), 2)
	f := (job.fixed[0] + job.fixed[1]) / 2
	job.n, job.fixed = [2]int64{n, n}, [2]time.Duration{f, f}
}

// alike reports whether two positive costs are within alikeCost of each
// other.
func alike(a, b float64) bool {
	return a > 0 && b > 0 && max(a, b) <= alikeCost*min(a, b)
}

// overPlan checks the planned rounds against the time left. Each side's
// runs are sized for the same CPU, so a result's run much longer than the
// baseline's means its iterations are so slow that even two outlast the
// baseline's whole run: when the rounds do not fit, such a result fails as
// at least that many times slower (its calibrated cost over the
// baseline's); without one, the baseline alone does not fit and the gate
// cannot measure.
func overPlan(g rules.Gate, jobs []benchJob, deadline time.Time, budget time.Duration) (fb, fr benchstat.BenchFacts, stop bool, err error) {
	_, count, _ := benchDefaults(g)
	var need time.Duration
	for _, job := range jobs {
		need += time.Duration(count*benchReps) * max(job.run[0], job.run[1])
	}
	left := time.Until(deadline)
	if need <= left {
		return fb, fr, false, nil
	}
	fb = benchstat.BenchFacts{Benchmarks: map[string]benchstat.BenchResult{}, Compare: map[string]benchstat.BenchDelta{}}
	fr = benchstat.BenchFacts{Benchmarks: map[string]benchstat.BenchResult{}, Compare: map[string]benchstat.BenchDelta{}}
	for _, job := range jobs {
		if job.cal[0] == 0 || job.cal[1] == 0 || job.run[1] <= 2*job.run[0] {
			continue
		}
		fb.Benchmarks[job.top] = benchstat.BenchResult{Center: job.cal[0], N: 1, Values: []float64{job.cal[0]}}
		fr.Compare[job.top] = AtLeast(job.cal[0], job.cal[1]/job.cal[0], budget)
	}
	if len(fr.Compare) > 0 {
		return fb, fr, true, nil
	}
	return fb, fr, true, factory.Errorf(factory.EINVALID, "the benchmarks need about %s for %d rounds, more than the %s left of the gate's budget of %s; raise budget, lower count or benchtime, or narrow pattern or packages",
		need.Round(time.Second), count, left.Round(time.Second), budget)
}

// round runs job once on side k and returns each benchmark's ns/op as
// reported (wall) and in CPU-ns/op (cpu, nil when no CPU is known); both
// nil when the package is not on this side. A benchmark that ran another
// number of iterations than asked (one that sets b.N itself, or runs its
// loop fewer times) is an error: its ns/op would not be its cost.
func (s *benchSide) round(ctx context.Context, g rules.Gate, k int, job benchJob, deadline time.Time) (wall, cpu map[string]float64, err error) {
	b, ok := s.bin(job.pkg)
	if !ok || job.n[k] == 0 {
		return nil, nil, nil
	}
	res, err := s.run.benchRun(ctx, g, b, job.pattern, fmt.Sprintf("%dx", job.n[k]), deadline)
	if err != nil {
		return nil, nil, err
	}
	if err := checkIters(res.Stdout, job.n[k]); err != nil {
		return nil, nil, err
	}
	f, err := benchstat.Parse(res.Stdout)
	if err != nil {
		return nil, nil, err
	}
	work := res.CPU - job.fixed[k]
	sum := 0.0
	wall = map[string]float64{}
	for name, br := range f.Benchmarks {
		sum += br.Center
		wall[name] = br.Center
	}
	if job.fixed[k] <= 0 || res.CPU <= 0 || work <= 0 || sum <= 0 {
		return wall, nil, nil
	}
	cpu = map[string]float64{}
	for name, v := range wall {
		cpu[name] = float64(work) * v / sum / float64(job.n[k])
	}
	return wall, cpu, nil
}

// checkIters refuses benchmark output whose iteration counts are not n.
func checkIters(out []byte, n int64) error {
	rd := benchfmt.NewReader(bytes.NewReader(out), "bench")
	for rd.Scan() {
		if res, ok := rd.Result().(*benchfmt.Result); ok && int64(res.Iters) != n {
			return factory.Errorf(factory.EINVALID, "Benchmark%s ran %d iterations, not the %d asked: a benchmark must run its loop b.N times (or use b.Loop) and leave b.N alone", res.Name, res.Iters, n)
		}
	}
	return nil
}
