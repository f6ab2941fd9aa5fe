package invariants

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"go/parser"
	"go/token"
	"io"
	"io/fs"
	"math"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/factory-dev/factory"
	"golang.org/x/perf/benchfmt"
	"golang.org/x/perf/benchmath"
)

// gateRun is everything a gate needs to run on one tree.
type gateRun struct {
	runner   Runner
	dir      string // the isolated copy
	snapshot string
	cfg      *Config
	diff     *DiffFacts // the change against the base; nil when there is none
}

const maxMatches = 50

// run runs one gate. Failures to produce facts become gateOutcome.Err.
func (r gateRun) run(ctx context.Context, g Gate) gateOutcome {
	var (
		facts any
		err   error
	)
	switch g.Kind {
	case GateSuite:
		facts, err = r.suite(ctx, g)
	case GateCommand:
		facts, err = r.command(ctx, g)
	case GateGoImports:
		facts, err = r.imports(ctx, g)
	case GatePattern:
		facts, err = r.pattern(ctx, g)
	case GateCoverage:
		facts, err = r.coverage(ctx, g)
	case GateBench:
		facts, err = r.bench(ctx, g)
	default:
		err = fmt.Errorf("unknown gate kind %q", g.Kind)
	}
	if err != nil {
		return gateOutcome{Err: factory.ErrorMessage(err)}
	}
	return gateOutcome{Facts: facts}
}

func (r gateRun) suite(ctx context.Context, g Gate) (any, error) {
	var suite factory.Suite
	for _, s := range r.cfg.Suites {
		if s.Name == g.Suite {
			suite = s
		}
	}
	if suite.Name == "" {
		return nil, factory.Errorf(factory.EINVALID, "no suite named %q", g.Suite)
	}
	if g.Timeout > 0 {
		suite.Timeout = g.Timeout
	}
	rep, err := r.runner.RunSuite(ctx, SuiteRun{Dir: r.dir, Snapshot: r.snapshot, Suite: suite, Policy: r.cfg.Sandbox})
	if err != nil {
		return nil, err
	}
	f := SuiteFacts{
		Status: rep.Status, Total: rep.Counts.Total, Passed: rep.Counts.Passed, Failed: rep.Counts.Failed,
		Skipped: rep.Counts.Skipped, BuildErrors: len(rep.BuildErrors), ExitCode: rep.ExitCode, Report: rep.ID,
		Failures: []string{},
	}
	for _, b := range rep.BuildErrors {
		f.Details = append(f.Details, fmt.Sprintf("build error %s: %s", location(b.Package, b.File, b.Line), b.Message))
	}
	for _, t := range rep.Failures {
		name := t.Name
		if t.Package != "" {
			name = t.Package + "." + t.Name
		}
		f.Failures = append(f.Failures, name)
		f.Details = append(f.Details, fmt.Sprintf("FAIL %s (%s): %s", name, location("", t.File, t.Line), t.Message))
	}
	if rep.Status == factory.TestTimeout {
		return nil, factory.Errorf(factory.ETIMEOUT, "suite %s timed out", suite.Name)
	}
	r.census(suite, rep, &f)
	if f.Total == 0 && f.BuildErrors == 0 {
		// the census's lines say why, when it knows
		return nil, factory.Errorf(factory.EINVALID, "suite %s ran zero tests (exit code %d); a suite that tests nothing is not a pass%s", suite.Name, rep.ExitCode, prefixLines("\n", limit(f.Details, 20)))
	}
	return f, nil
}

// prefixLines joins lines, each preceded by sep.
func prefixLines(sep string, lines []string) string {
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(sep + l)
	}
	return b.String()
}

func location(pkg, file string, line int) string {
	s := file
	if s == "" {
		s = pkg
	}
	if line > 0 {
		s += ":" + strconv.Itoa(line)
	}
	if s == "" {
		s = "?"
	}
	return s
}

func (r gateRun) exec(ctx context.Context, g Gate, argv []string) (CommandResult, error) {
	return r.runner.RunCommand(ctx, Command{Argv: argv, Dir: r.dir, Root: r.dir, Env: g.Env, Timeout: g.Timeout, Policy: r.cfg.Sandbox})
}

// treePath reads a path p printed by a command that ran in dir (the tree's
// root on the host) and saw that directory as res.Dir (see
// CommandResult.Dir): it returns p relative to the tree, slash-separated,
// and p's path on the host. ok is false when p is not inside the tree; host
// is then p itself (a path outside the tree, such as GOROOT or the module
// cache, is the same for the command and the host).
func treePath(dir string, res CommandResult, p string) (rel, host string, ok bool) {
	if !filepath.IsAbs(p) {
		if p = filepath.Clean(p); p == "." || filepath.IsLocal(p) {
			return filepath.ToSlash(p), filepath.Join(dir, p), true
		}
		return "", p, false
	}
	seen := res.Dir
	if seen == "" {
		seen = dir
	}
	bases := []string{seen}
	if d, err := filepath.EvalSymlinks(seen); err == nil && d != seen {
		bases = append(bases, d)
	}
	paths := []string{p}
	if seen == dir {
		// the command saw the host's own tree, so resolving p's symlinks on
		// the host is resolving them as the command did
		if q, err := filepath.EvalSymlinks(p); err == nil && q != p {
			paths = append(paths, q)
		}
	}
	for _, b := range bases {
		for _, q := range paths {
			r, err := filepath.Rel(b, q)
			if err == nil && (r == "." || filepath.IsLocal(r)) {
				return filepath.ToSlash(r), filepath.Join(dir, r), true
			}
		}
	}
	return "", p, false
}

func (r gateRun) command(ctx context.Context, g Gate) (any, error) {
	res, err := r.exec(ctx, g, g.Run)
	if err != nil {
		return nil, err
	}
	return CommandFacts{ExitCode: res.ExitCode, TimedOut: res.TimedOut, Seconds: res.Duration.Seconds(),
		Output: excerpt(append(append([]byte{}, res.Stdout...), res.Stderr...), 5, 20)}, nil
}

// excerpt keeps the first head and last tail lines of out.
func excerpt(out []byte, head, tail int) string {
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	if len(lines) <= head+tail {
		return strings.Join(lines, "\n")
	}
	omitted := len(lines) - head - tail
	return strings.Join(lines[:head], "\n") + fmt.Sprintf("\n... %d lines omitted ...\n", omitted) + strings.Join(lines[len(lines)-tail:], "\n")
}

func packagesOr(p []string) []string {
	if len(p) == 0 {
		return []string{"./..."}
	}
	return p
}

// safePatterns rejects package patterns that git or go would read as flags.
func safePatterns(ps []string) error {
	for _, p := range ps {
		if strings.HasPrefix(p, "-") {
			return factory.Errorf(factory.EINVALID, "package pattern %q starts with -", p)
		}
	}
	return nil
}

type listedPackage struct {
	ImportPath string
	Dir        string
	GoFiles    []string
	CgoFiles   []string
	Imports    []string
	Standard   bool
	Module     *struct{ Path string }
	Error      *struct{ Err string }
}

func (r gateRun) imports(ctx context.Context, g Gate) (any, error) {
	pkgs := packagesOr(g.Packages)
	if err := safePatterns(pkgs); err != nil {
		return nil, err
	}
	argv := append([]string{"go", "list", "-e", "-json=ImportPath,Dir,GoFiles,CgoFiles,Imports,Standard,Module,Error", "--"}, pkgs...)
	res, err := r.exec(ctx, g, argv)
	if err != nil {
		return nil, err
	}
	if res.ExitCode != 0 {
		return nil, factory.Errorf(factory.EINVALID, "go list exited %d: %s", res.ExitCode, excerpt(res.Stderr, 3, 5))
	}
	f := ImportsFacts{Packages: []string{}, Edges: []ImportEdge{}}
	dec := json.NewDecoder(bytes.NewReader(res.Stdout))
	fset := token.NewFileSet()
	for {
		var p listedPackage
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			return nil, factory.Errorf(factory.EINTERNAL, "read go list output: %v", err)
		}
		if p.Module != nil && f.Module == "" {
			f.Module = p.Module.Path
		}
		f.Packages = append(f.Packages, p.ImportPath)
		if p.Error != nil {
			f.Errors = append(f.Errors, p.ImportPath+": "+p.Error.Err)
		}
		pos := importPositions(fset, r.dir, res, p)
		for _, imp := range p.Imports {
			if imp == "C" {
				continue
			}
			f.Edges = append(f.Edges, ImportEdge{From: p.ImportPath, To: imp, Pos: pos[imp]})
		}
	}
	return f, nil
}

// importPositions finds where each import of a package is written, as
// "file:line" with the file relative to the tree in dir (the first file
// that imports it); res is go list's result, whose package directories are
// as the command saw the tree (see treePath). A package outside the tree
// gets absolute file names.
func importPositions(fset *token.FileSet, dir string, res CommandResult, p listedPackage) map[string]string {
	out := map[string]string{}
	relDir, hostDir, inTree := treePath(dir, res, p.Dir)
	files := append(append([]string{}, p.GoFiles...), p.CgoFiles...)
	sort.Strings(files)
	for _, name := range files {
		full := filepath.Join(hostDir, name)
		af, err := parser.ParseFile(fset, full, nil, parser.ImportsOnly)
		if err != nil {
			continue
		}
		shown := filepath.ToSlash(full)
		if inTree {
			shown = path.Join(relDir, name)
		}
		for _, is := range af.Imports {
			ip, err := strconv.Unquote(is.Path.Value)
			if err != nil || out[ip] != "" {
				continue
			}
			out[ip] = fmt.Sprintf("%s:%d", shown, fset.Position(is.Pos()).Line)
		}
	}
	return out
}

const maxScanFile = 1 << 20

func (r gateRun) pattern(ctx context.Context, g Gate) (any, error) {
	re, err := regexp.Compile(g.Regex)
	if err != nil {
		return nil, factory.Errorf(factory.EINVALID, "regex %q: %v", g.Regex, err)
	}
	f := PatternFacts{Matches: []string{}}
	add := func(p string, line int, text string) {
		f.Count++
		if len(f.Matches) < maxMatches {
			f.Matches = append(f.Matches, fmt.Sprintf("%s:%d: %s", p, line, clip(strings.TrimSpace(text), 160)))
		}
	}
	if g.Scope != ScopeFiles {
		if r.diff == nil {
			return f, nil
		}
		for _, l := range r.diff.lines {
			if matchAny(g.In, l.Path) && re.MatchString(l.Text) {
				add(l.Path, l.Line, l.Text)
			}
		}
		return f, nil
	}
	root, err := os.OpenRoot(r.dir)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	err = fs.WalkDir(root.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if d.IsDir() {
			if p == ".git" {
				return fs.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() || !matchAny(g.In, p) {
			return nil
		}
		b, err := fs.ReadFile(root.FS(), p)
		if err != nil || len(b) > maxScanFile || bytes.IndexByte(b, 0) >= 0 {
			return nil
		}
		if !re.Match(b) {
			return nil
		}
		sc := bufio.NewScanner(bytes.NewReader(b))
		sc.Buffer(make([]byte, 64<<10), maxScanFile)
		for n := 1; sc.Scan(); n++ {
			if re.Match(sc.Bytes()) {
				add(p, n, sc.Text())
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return f, nil
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

const coverFile = ".factory-cover.out"

func (r gateRun) coverage(ctx context.Context, g Gate) (any, error) {
	argv, profile := g.Run, g.Profile
	if argv == nil {
		pkgs := packagesOr(g.Packages)
		if err := safePatterns(pkgs); err != nil {
			return nil, err
		}
		profile = coverFile
		argv = append([]string{"go", "test", "-count=1", "-coverprofile=" + coverFile}, pkgs...)
	}
	res, err := r.exec(ctx, g, argv)
	if err != nil {
		return nil, err
	}
	root, err := os.OpenRoot(r.dir)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	data, err := root.ReadFile(filepath.FromSlash(profile))
	if err != nil {
		return nil, factory.Errorf(factory.EINVALID, "no cover profile %s after the command (exit code %d): %s", profile, res.ExitCode, excerpt(append(res.Stdout, res.Stderr...), 3, 8))
	}
	f, err := parseCoverProfile(data)
	if err != nil {
		return nil, err
	}
	f.ExitCode = res.ExitCode
	return f, nil
}

// parseCoverProfile reads a Go cover profile ("mode: set" then
// "file:l.c,l.c stmts count" lines). A block listed twice (several test
// binaries) counts once, covered if any listing covered it.
func parseCoverProfile(data []byte) (CoverageFacts, error) {
	type block struct {
		stmts   int
		covered bool
	}
	blocks := map[string]*block{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if n == 1 && strings.HasPrefix(line, "mode:") || line == "" {
			continue
		}
		sp := strings.LastIndexByte(line, ' ')
		sp2 := strings.LastIndexByte(line[:max(sp, 0)], ' ')
		if sp < 0 || sp2 < 0 {
			return CoverageFacts{}, factory.Errorf(factory.EINVALID, "cover profile line %d: expected \"file:pos stmts count\", got %q", n, clip(line, 80))
		}
		stmts, err1 := strconv.Atoi(line[sp2+1 : sp])
		count, err2 := strconv.ParseInt(line[sp+1:], 10, 64)
		if err1 != nil || err2 != nil || !strings.Contains(line[:sp2], ":") {
			return CoverageFacts{}, factory.Errorf(factory.EINVALID, "cover profile line %d: expected \"file:pos stmts count\", got %q", n, clip(line, 80))
		}
		key := line[:sp2]
		b := blocks[key]
		if b == nil {
			b = &block{stmts: stmts}
			blocks[key] = b
		}
		b.covered = b.covered || count > 0
	}
	type acc struct{ total, covered int }
	per := map[string]*acc{}
	var all acc
	for key, b := range blocks {
		file := key[:strings.LastIndexByte(key, ':')]
		pkg := path.Dir(file)
		a := per[pkg]
		if a == nil {
			a = &acc{}
			per[pkg] = a
		}
		a.total += b.stmts
		all.total += b.stmts
		if b.covered {
			a.covered += b.stmts
			all.covered += b.stmts
		}
	}
	pct := func(a acc) float64 {
		if a.total == 0 {
			return 0
		}
		return math.Round(1000*float64(a.covered)/float64(a.total)) / 10
	}
	f := CoverageFacts{Total: pct(all), Statements: all.total, Packages: map[string]float64{}}
	for k, a := range per {
		f.Packages[k] = pct(*a)
	}
	return f, nil
}

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
			best := [2]map[string]float64{}
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
						return BenchFacts{}, BenchFacts{}, err
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
			for side, m := range best {
				names := make([]string, 0, len(m))
				for name := range m {
					names = append(names, name)
				}
				sort.Strings(names)
				for _, name := range names {
					rounds[side][i] = fmt.Appendf(rounds[side][i], "%s\t%d\t%g ns/op\n", name, job.n, m[name])
				}
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
