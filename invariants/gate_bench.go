package invariants

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/factory-dev/factory"
)

// benchDefaults is the gate's benchmark pattern, round count and
// -benchtime, defaults filled in.
func benchDefaults(g Gate) (pat string, count int, benchtime string) {
	pat, count, benchtime = g.Bench, g.Count, g.Benchtime
	if pat == "" {
		pat = "."
	}
	if count == 0 {
		count = 10
	}
	if benchtime == "" {
		benchtime = "100ms"
	}
	return pat, count, benchtime
}

// benchBin is one compiled test binary and the package directory it runs
// in, both on the host, the binary's path relative to dir (commands may see
// the tree at another path: see CommandResult.Dir).
type benchBin struct{ bin, dir, pkg string }

const benchDir = ".factory-bench"

// benchBinaries compiles the test binary of every package of the gate that
// has tests (go test -c), so the benchmarks can then run many times, and
// alternately with another tree's, without rebuilding.
func (r gateRun) benchBinaries(ctx context.Context, g Gate) ([]benchBin, error) {
	pkgs := packagesOr(g.Packages)
	if err := safePatterns(pkgs); err != nil {
		return nil, err
	}
	argv := append([]string{"go", "list", "-e", "-f", "{{.ImportPath}}\t{{.Dir}}\t{{len .TestGoFiles}}\t{{len .XTestGoFiles}}"}, pkgs...)
	res, err := r.exec(ctx, g, argv)
	if err != nil {
		return nil, err
	}
	if res.ExitCode != 0 {
		return nil, factory.Errorf(factory.EINVALID, "go list exited %d: %s", res.ExitCode, excerpt(res.Stderr, 3, 5))
	}
	var bins []benchBin
	for _, line := range strings.Split(strings.TrimSpace(string(res.Stdout)), "\n") {
		f := strings.Split(line, "\t")
		if len(f) != 4 || (f[2] == "0" && f[3] == "0") {
			continue
		}
		_, pkgDir, ok := treePath(r.dir, res, f[1])
		if !ok {
			return nil, factory.Errorf(factory.EINVALID, "package %s is in %s, outside the tree", f[0], f[1])
		}
		// relative to the command's working directory (r.dir), whatever path
		// the command sees it at
		bin := filepath.Join(benchDir, fmt.Sprintf("%d.test", len(bins)))
		cres, err := r.exec(ctx, g, []string{"go", "test", "-c", "-o", bin, f[0]})
		if err != nil {
			return nil, err
		}
		if cres.ExitCode != 0 {
			return nil, factory.Errorf(factory.EINVALID, "building the benchmarks of %s failed (exit code %d): %s", f[0], cres.ExitCode, excerpt(append(cres.Stdout, cres.Stderr...), 3, 10))
		}
		rel, err := filepath.Rel(pkgDir, filepath.Join(r.dir, bin))
		if err != nil {
			return nil, factory.Errorf(factory.EINTERNAL, "benchmark binary %s: %v", bin, err)
		}
		if !strings.Contains(rel, string(filepath.Separator)) {
			rel = "." + string(filepath.Separator) + rel
		}
		bins = append(bins, benchBin{bin: rel, dir: pkgDir, pkg: f[0]})
	}
	if len(bins) == 0 {
		return nil, factory.Errorf(factory.EINVALID, "no package with tests matches %s", strings.Join(pkgs, " "))
	}
	return bins, nil
}

// benchRound runs every binary's benchmarks once (-test.count=1).
func (r gateRun) benchRound(ctx context.Context, g Gate, bins []benchBin) ([]byte, error) {
	pat, _, bt := benchDefaults(g)
	var out []byte
	for _, b := range bins {
		res, err := r.runner.RunCommand(ctx, Command{Argv: []string{b.bin, "-test.run=^$", "-test.bench=" + pat, "-test.benchtime=" + bt, "-test.count=1"},
			Dir: b.dir, Root: r.dir, Env: g.Env, Timeout: g.Timeout, Policy: r.cfg.Sandbox})
		if err != nil {
			return nil, err
		}
		if res.ExitCode != 0 {
			return nil, factory.Errorf(factory.EINVALID, "benchmarks failed (exit code %d): %s", res.ExitCode, excerpt(append(res.Stdout, res.Stderr...), 3, 10))
		}
		out = append(out, res.Stdout...)
	}
	return out, nil
}

// bench runs a bench gate on one tree: the gate's own command when it has
// one, else the compiled test binaries Count times.
func (r gateRun) bench(ctx context.Context, g Gate) (any, error) {
	var out []byte
	if g.Run != nil {
		res, err := r.exec(ctx, g, g.Run)
		if err != nil {
			return nil, err
		}
		if res.ExitCode != 0 {
			return nil, factory.Errorf(factory.EINVALID, "benchmarks failed (exit code %d): %s", res.ExitCode, excerpt(append(res.Stdout, res.Stderr...), 3, 10))
		}
		out = res.Stdout
	} else {
		bins, err := r.benchBinaries(ctx, g)
		if err != nil {
			return nil, err
		}
		_, count, _ := benchDefaults(g)
		for i := 0; i < count; i++ {
			o, err := r.benchRound(ctx, g, bins)
			if err != nil {
				return nil, err
			}
			out = append(out, o...)
		}
	}
	return benchFacts(g, out)
}

// benchFacts parses benchmark output, refusing output in which no
// benchmark ran.
func benchFacts(g Gate, out []byte) (BenchFacts, error) {
	f, err := parseBench(out)
	if err != nil {
		return f, err
	}
	if len(f.Benchmarks) == 0 {
		return f, factory.Errorf(factory.EINVALID, "no benchmark ran (pattern %q): %s", g.Bench, excerpt(out, 3, 5))
	}
	return f, nil
}

// pairedBench runs a bench gate on the base and the result in paired
// rounds, both sides of a round at the same time, so that a busy machine
// slows both sides of a round alike. It returns both sides' facts, the
// result's with Compare filled by comparePaired.
//
// The rounds are judged on CPU time, not wall time: on a loaded machine a
// benchmark's wall-clock ns/op swings by half between rounds, since it
// waits for the processor; the CPU it burns moves much less. A calibration
// run (the usual timed -benchtime) gives each top-level benchmark
// function's cost; every round then runs each function in its own process
// for a fixed iteration count N (-test.benchtime=Nx), and its CPU-ns/op is
// (CPU - F) / N, F the process's fixed cost (see planJob). Even CPU time
// is inflated when a neighbour thrashes the shared caches or the host's
// cores, so within a round the two sides run at the same time (whatever
// slows one slows the other) and benchReps times, keeping each side's
// least. Sub-benchmarks share their function's CPU in proportion to the
// ns/op they report. When the runner reports no CPU (CommandResult.CPU
// zero) a round falls back to the reported ns/op, and the evidence says
// "paired" instead of "paired cpu".
func pairedBench(ctx context.Context, base, result gateRun, g Gate) (BenchFacts, BenchFacts, error) {
	bb, err := base.benchBinaries(ctx, g)
	if err != nil {
		return BenchFacts{}, BenchFacts{}, fmt.Errorf("on the baseline: %w", err)
	}
	rb, err := result.benchBinaries(ctx, g)
	if err != nil {
		return BenchFacts{}, BenchFacts{}, err
	}
	calB, err := base.benchCalibrate(ctx, g, bb)
	if err != nil {
		return BenchFacts{}, BenchFacts{}, fmt.Errorf("on the baseline: %w", err)
	}
	calR, err := result.benchCalibrate(ctx, g, rb)
	if err != nil {
		return BenchFacts{}, BenchFacts{}, err
	}
	jobs := benchJobs(g, calB, calR)
	if len(jobs) == 0 {
		return BenchFacts{}, BenchFacts{}, factory.Errorf(factory.EINVALID, "no benchmark ran (pattern %q)", g.Bench)
	}
	sides := [2]*benchSide{{run: base, bins: bb}, {run: result, bins: rb}}
	fixed := map[int]time.Duration{}
	for j := range jobs {
		f, n, err := planJob(ctx, g, sides, &jobs[j])
		if err != nil {
			return BenchFacts{}, BenchFacts{}, err
		}
		if n {
			fixed[j] = f
		}
	}
	sides[0].fixed, sides[1].fixed = fixed, fixed
	_, count, _ := benchDefaults(g)
	rounds := [2][][]byte{make([][]byte, count), make([][]byte, count)}
	cpu := true
	for i := 0; i < count; i++ {
		for j, job := range jobs {
			best, onCPU, err := pairedRound(ctx, g, sides, j, job)
			if err != nil {
				return BenchFacts{}, BenchFacts{}, err
			}
			cpu = cpu && onCPU
			for side, m := range best {
				rounds[side][i] = appendBenchLines(rounds[side][i], job.n, m)
			}
		}
	}
	fb, err := benchFacts(g, bytes.Join(rounds[0], nil))
	if err != nil {
		return BenchFacts{}, BenchFacts{}, fmt.Errorf("on the baseline: %w", err)
	}
	fr, err := benchFacts(g, bytes.Join(rounds[1], nil))
	if err != nil {
		return BenchFacts{}, BenchFacts{}, err
	}
	test := "paired"
	if cpu {
		test = "paired cpu"
	}
	fr.Compare = comparePaired(fb, fr, rounds[0], rounds[1], test)
	return fb, fr, nil
}

// pairedRound runs job on both sides at once, benchReps times, and keeps
// each side's least ns/op per benchmark. cpu is false when a side reported
// no CPU time, so the values are the benchmarks' own ns/op.
func pairedRound(ctx context.Context, g Gate, sides [2]*benchSide, j int, job benchJob) (best [2]map[string]float64, cpu bool, err error) {
	cpu = true
	for rep := 0; rep < benchReps; rep++ {
		// both sides at once: whatever slows the machine's shared
		// parts (caches, memory, the host's cores) then slows both
		var wall, onCPU [2]map[string]float64
		var errs [2]error
		var wg sync.WaitGroup
		for side := range 2 {
			wg.Go(func() { wall[side], onCPU[side], errs[side] = sides[side].round(ctx, g, j, job) })
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
				if side == 0 {
					err = fmt.Errorf("on the baseline: %w", err)
				}
				return best, cpu, err
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
// its own process with a fixed iteration count in every paired round.
type benchJob struct {
	pkg     string // import path
	pattern string // -test.bench
	n       int64  // -test.benchtime=Nx; at least 2
	fixedN  bool   // n is the gate's own ("benchtime: Nx"), not to be resized
	target  time.Duration
}

// benchSide is one tree of a paired comparison.
type benchSide struct {
	run   gateRun
	bins  []benchBin
	fixed map[int]time.Duration // job index -> its fixed cost (see planJob)
}

// benchCalibrate runs every binary once with the gate's pattern and
// benchtime and returns, per package, each top-level benchmark function's
// summed ns/op (over its sub-benchmarks).
func (r gateRun) benchCalibrate(ctx context.Context, g Gate, bins []benchBin) (map[string]map[string]float64, error) {
	pat, _, bt := benchDefaults(g)
	cal := map[string]map[string]float64{}
	for _, b := range bins {
		res, err := r.benchRun(ctx, g, b, pat, bt)
		if err != nil {
			return nil, err
		}
		f, err := parseBench(res.Stdout)
		if err != nil {
			return nil, err
		}
		m := map[string]float64{}
		for name, br := range f.Benchmarks {
			top, _, _ := strings.Cut(name, "/")
			m[top] += br.Center
		}
		cal[b.pkg] = m
	}
	return cal, nil
}

// benchRun runs one binary's benchmarks matching pat once.
func (r gateRun) benchRun(ctx context.Context, g Gate, b benchBin, pat, benchtime string) (CommandResult, error) {
	res, err := r.runner.RunCommand(ctx, Command{Argv: []string{b.bin, "-test.run=^$", "-test.bench=" + pat, "-test.benchtime=" + benchtime, "-test.count=1"},
		Dir: b.dir, Root: r.dir, Env: g.Env, Timeout: g.Timeout, Policy: r.cfg.Sandbox})
	if err != nil {
		return res, err
	}
	if res.ExitCode != 0 {
		return res, factory.Errorf(factory.EINVALID, "benchmarks failed (exit code %d): %s", res.ExitCode, excerpt(append(res.Stdout, res.Stderr...), 3, 10))
	}
	return res, nil
}

// benchJobs plans the paired rounds from both sides' calibrations: one job
// per top-level benchmark function of a package, with an iteration count
// that makes it burn about the gate's benchtime (its count when given as
// "Nx") of CPU per round; the baseline's cost decides, as the result's
// may be the regression.
func benchJobs(g Gate, calB, calR map[string]map[string]float64) []benchJob {
	pat, _, bt := benchDefaults(g)
	var fixedN int64
	target := 100 * time.Millisecond
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
	var jobs []benchJob
	seen := map[[2]string]bool{}
	for _, cal := range []map[string]map[string]float64{calB, calR} {
		pkgs := make([]string, 0, len(cal))
		for p := range cal {
			pkgs = append(pkgs, p)
		}
		sort.Strings(pkgs)
		for _, p := range pkgs {
			tops := make([]string, 0, len(cal[p]))
			for t := range cal[p] {
				tops = append(tops, t)
			}
			sort.Strings(tops)
			for _, top := range tops {
				if seen[[2]string{p, top}] {
					continue
				}
				seen[[2]string{p, top}] = true
				n := fixedN
				if n == 0 {
					ns := cal[p][top]
					if ns <= 0 {
						ns = 1
					}
					n = int64(math.Ceil(float64(target) / ns))
				}
				jobs = append(jobs, benchJob{pkg: p, pattern: "^" + regexp.QuoteMeta(top) + "$" + rest, n: max(n, 2), fixedN: fixedN > 0, target: target})
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

// planJob measures job's fixed cost F, the median CPU of three
// -test.benchtime=1x runs on each side: an Nx run does exactly N iterations
// more than a 1x run (the testing package always runs one alone first), so
// F holds the process start-up (in the sandbox some 30 ms: bwrap, mounts,
// the re-executed init, the test binary), the benchmark's set-up and that
// first iteration. One F serves both sides: their processes start alike,
// and subtracting the same F keeps an unchanged benchmark's ratios
// symmetric around 1 whatever F's error. F varies by several ms from run
// to run, so planJob then sizes job.n for runs of max(benchtime, 2F) of
// CPU in the benchmark itself, from probe runs (the calibration's
// wall-clock ns/op overstates the CPU on a busy machine). ok is false when
// the runner reports no CPU.
func planJob(ctx context.Context, g Gate, sides [2]*benchSide, job *benchJob) (f time.Duration, ok bool, err error) {
	var cpu []time.Duration
	for k, sd := range sides {
		b, has := sd.bin(job.pkg)
		if !has {
			continue
		}
		for i := 0; i < 3; i++ {
			res, err := sd.run.benchRun(ctx, g, b, job.pattern, "1x")
			if err != nil {
				if k == 0 {
					err = fmt.Errorf("on the baseline: %w", err)
				}
				return 0, false, err
			}
			if res.CPU <= 0 {
				return 0, false, nil
			}
			cpu = append(cpu, res.CPU)
		}
	}
	if len(cpu) == 0 {
		return 0, false, nil
	}
	slices.Sort(cpu)
	f = cpu[len(cpu)/2]
	if job.fixedN {
		return f, true, nil
	}
	want := max(job.target, 2*f)
	// Probe twice on both sides at once (as the rounds run) and size on
	// the least CPU seen: a probe slowed by a busy moment would make the
	// runs too short for F's noise.
	var least time.Duration
	for range 2 {
		var wg sync.WaitGroup
		var errs [2]error
		var got [2]time.Duration
		for k, sd := range sides {
			b, has := sd.bin(job.pkg)
			if !has {
				continue
			}
			wg.Go(func() {
				res, err := sd.run.benchRun(ctx, g, b, job.pattern, fmt.Sprintf("%dx", job.n))
				got[k], errs[k] = res.CPU-f, err
			})
		}
		wg.Wait()
		for k := range 2 {
			if err := errs[k]; err != nil {
				if k == 0 {
					err = fmt.Errorf("on the baseline: %w", err)
				}
				return 0, false, err
			}
			if w := got[k]; w > 0 && (least == 0 || w < least) {
				least = w
			}
		}
	}
	if least > 0 {
		job.n = int64(math.Ceil(float64(job.n) * float64(want) / float64(least)))
	} else {
		job.n *= 4
	}
	job.n = max(job.n, 2)
	return f, true, nil
}

// benchReps is how many times a paired round runs the two sides (at once),
// keeping each side's fastest: on a shared machine a neighbour's burst
// inflates even CPU time (a busy sibling hyperthread on the host halves a
// vCPU's speed), and the fastest of a few short runs is the one it spared.
const benchReps = 3

// round runs job once on this side and returns each benchmark's ns/op as
// reported (wall) and in CPU-ns/op (cpu, nil when no CPU is known); both
// nil when the package is not on this side.
func (s *benchSide) round(ctx context.Context, g Gate, j int, job benchJob) (wall, cpu map[string]float64, err error) {
	b, ok := s.bin(job.pkg)
	if !ok {
		return nil, nil, nil
	}
	res, err := s.run.benchRun(ctx, g, b, job.pattern, fmt.Sprintf("%dx", job.n))
	if err != nil {
		return nil, nil, err
	}
	f, err := parseBench(res.Stdout)
	if err != nil {
		return nil, nil, err
	}
	fixed, ok := s.fixed[j]
	work := res.CPU - fixed
	sum := 0.0
	wall = map[string]float64{}
	for name, br := range f.Benchmarks {
		sum += br.Center
		wall[name] = br.Center
	}
	if !ok || res.CPU <= 0 || work <= 0 || sum <= 0 {
		return wall, nil, nil
	}
	cpu = map[string]float64{}
	for name, v := range wall {
		cpu[name] = float64(work) * v / sum / float64(job.n)
	}
	return wall, cpu, nil
}
