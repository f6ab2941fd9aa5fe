package testrun

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/factory-dev/factory"
	"github.com/factory-dev/factory/internal/gocensus"
	"github.com/factory-dev/factory/sandbox"
	"github.com/factory-dev/factory/sandbox/proc"
	"github.com/factory-dev/factory/sandbox/report"
)

// Runner runs test suites and gate commands for one workspace. It owns
// the cache of baseline failures. It is safe for concurrent use.
type Runner struct {
	ws *sandbox.Workspace

	mu        sync.Mutex
	baselines map[string]map[string]bool // failing tests of baseline runs, by baselineKey
}

// New returns a Runner for ws.
func New(ws *sandbox.Workspace) *Runner {
	return &Runner{ws: ws, baselines: map[string]map[string]bool{}}
}

// Job is one request to run a suite.
type Job struct {
	Suite   factory.Suite         // the suite from factory.yaml; Run and Format are required
	Policy  factory.SandboxPolicy // limits for the run; the zero value is the default policy
	Request factory.TestRequest   // narrowing, reruns, in-place, snapshot, baseline
	// Progress, when set, is called while the suite runs (at most twice a
	// second, from the goroutine reading the output) and once at the end.
	// total is 0 while unknown.
	Progress func(done, total int, msg string)
}

const (
	defaultSuiteTimeout = 10 * time.Minute
	defaultReruns       = 2
	maxRerunTests       = 10       // failing tests rerun one by one; past that, a run is broken, not flaky
	maxTestOutput       = 32 << 20 // per stream, before proc keeps head and tail
	logSeparator        = "\n=== factory: %s ===\n"
)

// Run runs a suite in an isolated copy of the workspace (the live tree,
// or Request.Snapshot) or, with Request.InPlace, in the live tree (which
// the suite can then change for real; only its .git stays read-only, as in
// every sandbox), and
// returns the compact report and the full log (stdout then stderr of every
// command it ran, reruns and baseline included, with separators).
//
// Every command runs through proc.Run, confined by Policy with the copy as
// the only writable tree, shown at the live tree's path (proc's
// Confinement.MountAs), so absolute paths, and the build caches keyed on
// them, are those of a run in the live tree; the live tree itself is
// hidden from the command. Without isolation (policy isolation none, or
// none available) the copy runs at its own path, with a note. A go-json
// test that crashes its package's binary (a panic, os.Exit) would hide the
// tests after it: they are run again without it (see afterCrashes), and
// it is reported as crashed. Failures are rerun (Request.Reruns, default 2):
// each failing test alone, up to that many times, for at most 10 tests, as
// its runner selects one test (go-json: -run anchored per subtest level,
// in its package; pytest, vitest, jest, mocha, node --test and cargo: see
// frameworkOf and selector); other commands, which have no known way to
// select one test, rerun the whole (narrowed) suite once. A failure that
// passes on a rerun is moved to Flaky. The live tree's ignored dependency
// directories are shown in the copy (liveDeps); npm is told it is offline
// when the sandbox has no network, and a run that reached for the network
// gets a note saying what to install. With Request.Baseline the suite
// also runs on that snapshot (its failures are cached per tree, suite and
// narrowing) and NewFailures lists
// the failures the baseline does not have; a baseline that cannot run is a
// note, an unknown baseline id an error before anything runs.
//
// Errors: EINVALID for a bad suite or request (the message says what to
// send), ENOTFOUND for an unknown snapshot or a missing program,
// EUNAVAILABLE for a forced isolation mode the machine lacks, ETIMEOUT
// (wrapping ctx.Err()) when ctx ends: the partial report and log are
// returned with it. A failing, timed-out or unbuildable suite is a report,
// not an error.
func (rn *Runner) Run(ctx context.Context, tr Job) (factory.TestReport, []byte, error) {
	w := rn.ws
	const op = "run tests"
	start := time.Now()
	s := tr.Suite
	if err := checkSuite(s); err != nil {
		return factory.TestReport{}, nil, factory.Wrap(op, err)
	}
	if s.Timeout <= 0 {
		s.Timeout = defaultSuiteTimeout
	}
	req := tr.Request
	if req.InPlace && req.Snapshot != "" {
		return factory.TestReport{}, nil, factory.Wrap(op, factory.Errorf(factory.EINVALID, "in_place runs the live tree; drop snapshot, or drop in_place to test snapshot %s in a copy", req.Snapshot))
	}
	argv, err := NarrowArgv(s, req.Package, req.Test)
	if err != nil {
		return factory.TestReport{}, nil, factory.Wrap(op, err)
	}
	// A result from go's test cache is not a run: a flaky test would pass
	// every rerun. Reruns reuse argv, so they are real runs too.
	argv = gocensus.NoCache(argv)
	var fw framework
	if s.Format != factory.FormatGoJSON {
		fw = frameworkOf(argv)
		argv = fw.noCache(argv)
	}

	baseTree, err := resolveTrees(ctx, w, &req)
	if err != nil {
		return factory.TestReport{}, nil, factory.Wrap(op, err)
	}

	var log bytes.Buffer
	dir, snapID := w.Root(), ""
	if !req.InPlace {
		cp, err := w.Isolate(ctx, req.Snapshot)
		if err != nil {
			return factory.TestReport{}, nil, factory.Wrap(op, err)
		}
		defer cp.Close()
		dir, snapID = cp.Dir(), cp.Base().ID
	}

	r := &suiteRunner{rn: rn, suite: s, policy: tr.Policy, progress: newProgress(tr.Progress),
		fw: fw, nameFiltered: fw.kind != "" && req.Test != ""}
	first, err := r.run(ctx, argv, dir, &log, "run")
	if err != nil {
		return factory.TestReport{}, log.Bytes(), factory.Wrap(op, err)
	}
	res := first.res
	notes := r.afterCrashes(ctx, argv, dir, &log, first)
	if !first.stopped() && req.Reruns >= 0 {
		n := req.Reruns
		if n == 0 {
			n = defaultReruns
		}
		notes = append(notes, r.rerun(ctx, argv, dir, &log, res, n)...)
	}
	rep := report.Build(res, first.input(s, dir, &log))
	rep.Notes = append(rep.Notes, notes...)
	if len(rep.Flaky) > 0 {
		rep.Notes = append(rep.Notes, fmt.Sprintf("%d flaky: failed, then passed on rerun", len(rep.Flaky)))
	}

	if req.Baseline != "" && !first.stopped() && ctx.Err() == nil {
		r.compareBaseline(ctx, argv, req.Baseline, baseTree, &log, &rep)
	}

	if s.Format == factory.FormatGoJSON {
		goResolveFiles(&rep, dir)
	}
	rep.ID = newTestRunID()
	rep.Snapshot = snapID
	rep.Isolation = first.proc.Isolation
	rep.Duration = time.Since(start)
	rep.LogBytes = log.Len()
	rep.Notes = append(rep.Notes, first.proc.Notes...)
	if rep.Status != factory.TestPass {
		if h := networkHint(argv, log.Bytes(), tr.Policy.Network); h != "" {
			rep.Notes = append(rep.Notes, h)
		}
	}
	if first.proc.Truncated {
		rep.Notes = append(rep.Notes, fmt.Sprintf("output over %d MiB: the middle was dropped, the report may miss tests", maxTestOutput>>20))
	}
	r.progress.final(rep)
	if err := ctx.Err(); err != nil {
		return rep, log.Bytes(), &factory.Error{Code: factory.ETIMEOUT, Op: op, Message: "the test run was stopped: " + err.Error(), Err: err}
	}
	return rep, log.Bytes(), nil
}

// goResolveFiles turns the bare file names go test prints (x_test.go:12)
// into paths relative to the root, using the package's import path and the
// module path in dir/go.mod.
func goResolveFiles(rep *factory.TestReport, dir string) {
	b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		return
	}
	mod := gocensus.ModulePath(b)
	if mod == "" {
		return
	}
	fix := func(pkg, file string) string {
		if strings.HasPrefix(file, mod+"/") { // -trimpath frames: module path + file
			return strings.TrimPrefix(file, mod+"/")
		}
		if file == "" || strings.Contains(file, "/") {
			return file
		}
		switch {
		case pkg == mod:
			return file
		case strings.HasPrefix(pkg, mod+"/"):
			return strings.TrimPrefix(pkg, mod+"/") + "/" + file
		}
		return file
	}
	for i := range rep.Failures {
		rep.Failures[i].File = fix(rep.Failures[i].Package, rep.Failures[i].File)
	}
	for i := range rep.Flaky {
		rep.Flaky[i].File = fix(rep.Flaky[i].Package, rep.Flaky[i].File)
	}
}

// checkSuite validates what factory.yaml gave.
func checkSuite(s factory.Suite) error {
	if len(s.Run) == 0 || s.Run[0] == "" {
		return factory.Errorf(factory.EINVALID, "suite %q has no run command: give it run: [program, args...] in factory.yaml", s.Name)
	}
	switch s.Format {
	case factory.FormatGoJSON, factory.FormatTAP, factory.FormatExitCode:
	case factory.FormatJUnit:
		if s.JUnitPath == "" {
			return factory.Errorf(factory.EINVALID, "suite %q has format junit but no junit_path: say where the command writes its JUnit XML", s.Name)
		}
		if err := trCheckPath(s.JUnitPath, false); err != nil {
			return factory.Errorf(factory.EINVALID, "suite %q: junit_path: %v", s.Name, err)
		}
	default:
		return factory.Errorf(factory.EINVALID, "suite %q has format %q: use go-json, junit, tap or exit-code", s.Name, s.Format)
	}
	return nil
}

type suiteRunner struct {
	rn       *Runner
	suite    factory.Suite
	policy   factory.SandboxPolicy
	progress *progress
	fw       framework // the runner, for suites other than go-json; its kind is "" when unknown
	// nameFiltered drops skipped cases from every run: the runner reports
	// the tests its name filter left out as skipped, and they did not run.
	nameFiltered bool
}

// outcome is one command's run and its parse.
type outcome struct {
	proc proc.Result
	res  *report.Result
}

func (o outcome) stopped() bool { return o.proc.TimedOut || o.proc.Cancelled }

// input is the report's input; file paths are made relative to the
// directory the command saw itself in (the live root when the copy was
// mounted there), or dir.
func (o outcome) input(s factory.Suite, dir string, log *bytes.Buffer) report.Input {
	if o.proc.Dir != "" {
		dir = o.proc.Dir
	}
	return report.Input{
		Suite: s.Name, Format: s.Format, ExitCode: o.proc.ExitCode,
		TimedOut: o.proc.TimedOut, Cancelled: o.proc.Cancelled,
		Log: append(append([]byte(nil), o.proc.Stdout...), o.proc.Stderr...), Root: dir,
	}
}

// run runs argv in dir, appends its output to log and parses it. A dir
// other than the live root (an isolated copy) is shown to the command at
// the live root's path; reports it writes are read from dir.
func (r *suiteRunner) run(ctx context.Context, argv []string, dir string, log *bytes.Buffer, what string) (outcome, error) {
	s := r.suite
	var jroot *os.Root
	if s.Format == factory.FormatJUnit {
		var err error
		if jroot, err = os.OpenRoot(dir); err != nil {
			return outcome{}, err
		}
		defer jroot.Close()
		if err := jroot.Remove(s.JUnitPath); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return outcome{}, fmt.Errorf("remove old %s: %w", s.JUnitPath, err)
		}
		// Runners such as node --test do not create the report's directory.
		if d := filepath.Dir(s.JUnitPath); d != "." {
			if err := jroot.MkdirAll(d, 0o755); err != nil {
				return outcome{}, fmt.Errorf("make directory for %s: %w", s.JUnitPath, err)
			}
		}
	}
	env := noTestCacheEnv(envWith(r.policy.EnvAllow, offlineEnv(s.Env, r.policy.Network)))
	if what != "run" {
		fmt.Fprintf(log, logSeparator, what)
	}
	fmt.Fprintf(log, "$ %s\n", strings.Join(argv, " "))
	c := proc.Cmd{
		Argv: argv, Dir: dir, Env: env, Timeout: s.Timeout, MaxOutput: maxTestOutput,
		Confine: &proc.Confinement{Policy: r.policy, Writable: []string{dir}},
	}
	if root := r.rn.ws.Root(); dir != root {
		c.Confine.MountAs = proc.Mount{Src: dir, Dst: root}
		c.Confine.Deps = liveDeps(root, dir)
	}
	if what == "run" && r.progress != nil {
		c.Stdout = r.progress.watcher(s.Format)
	}
	pr, err := proc.Run(ctx, c)
	if err != nil {
		return outcome{}, err
	}
	log.Write(pr.Stdout)
	if len(pr.Stderr) > 0 {
		fmt.Fprintf(log, logSeparator, "stderr")
		log.Write(pr.Stderr)
	}
	o := outcome{proc: pr}
	switch s.Format {
	case factory.FormatGoJSON:
		o.res = report.ParseGoJSON(pr.Stdout, pr.Stderr, pr.TimedOut)
	case factory.FormatTAP:
		o.res = report.ParseTAP(pr.Stdout)
	case factory.FormatJUnit:
		data, rerr := jroot.ReadFile(s.JUnitPath)
		switch {
		case rerr != nil:
			o.res = &report.Result{Broken: true, Notes: []string{fmt.Sprintf("the suite wrote no JUnit report at %s (exit code %d); see the full log", s.JUnitPath, pr.ExitCode)}}
		default:
			res, perr := report.ParseJUnit(data)
			if perr != nil {
				o.res = &report.Result{Broken: true, Notes: []string{perr.Error()}}
			} else {
				o.res = res
			}
		}
	default:
		out := append(append([]byte(nil), pr.Stdout...), pr.Stderr...)
		o.res = report.ParseExitCode(s.Name, pr.ExitCode, pr.TimedOut, out)
	}
	if r.nameFiltered {
		o.res.DropSkipped()
	}
	return o, nil
}

// noTestCacheEnv sets GOFLAGS so that a go test the suite runs indirectly
// (a script, a make target) does not answer from go's test cache either;
// the last GOFLAGS of env is the one a process sees.
func noTestCacheEnv(env []string) []string {
	goflags := ""
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "GOFLAGS="); ok {
			goflags = v
		}
	}
	return append(env, "GOFLAGS="+gocensus.NoCacheGOFLAGS(goflags))
}

// rerun reruns the failures of res and marks those that pass as flaky;
// it returns notes for the report.
func (r *suiteRunner) rerun(ctx context.Context, argv []string, dir string, log *bytes.Buffer, res *report.Result, n int) []string {
	type failing struct{ pkg, name string }
	var todo []failing
	for _, c := range res.Cases {
		if c.Status == report.Fail && !c.Timeout && !res.HasFailingChild(c.Package, c.Name) {
			todo = append(todo, failing{c.Package, c.Name})
		}
	}
	if len(todo) == 0 {
		return nil
	}
	var notes []string
	if r.suite.Format != factory.FormatGoJSON && r.fw.kind == "" {
		return r.rerunWhole(ctx, argv, dir, log, res)
	}
	if len(todo) > maxRerunTests {
		notes = append(notes, fmt.Sprintf("%d tests failed: only the first %d were rerun to look for flaky ones", len(todo), maxRerunTests))
		todo = todo[:maxRerunTests]
	}
	for _, f := range todo {
		a, ok := r.oneTest(argv, dir, f.pkg, f.name)
		if !ok {
			if r.fw.kind != "" {
				notes = append(notes, fmt.Sprintf("%s cannot be selected alone: not rerun", report.Key(f.pkg, f.name)))
			}
			continue
		}
		for i := 1; i <= n && ctx.Err() == nil; i++ {
			o, err := r.run(ctx, a, dir, log, fmt.Sprintf("rerun %d of %s %s", i, f.pkg, f.name))
			if err != nil {
				return append(notes, "rerun failed to start: "+err.Error())
			}
			if o.res.Passed(f.pkg, f.name) {
				res.MarkFlaky(f.pkg, f.name)
				break
			}
		}
	}
	return notes
}

// oneTest is argv narrowed to the one test pkg/name, and false when the
// runner cannot select it alone.
func (r *suiteRunner) oneTest(argv []string, dir, pkg, name string) ([]string, bool) {
	if r.suite.Format == factory.FormatGoJSON {
		if pkg == "" || strings.HasPrefix(pkg, "-") {
			return nil, false
		}
		return trGoNarrow(argv, pkg, trRunPattern(name)), true
	}
	sel, ok := r.fw.selector(dir, pkg, name)
	if !ok {
		return nil, false
	}
	return r.fw.narrow(argv, "", sel, true), true
}

// rerunWhole reruns the whole (narrowed) suite once, for the commands that
// have no known way to select one test, and marks the failures of res
// that pass in it as flaky.
func (r *suiteRunner) rerunWhole(ctx context.Context, argv []string, dir string, log *bytes.Buffer, res *report.Result) []string {
	o, err := r.run(ctx, argv, dir, log, "rerun of the suite to look for flaky tests")
	if err != nil {
		return []string{"rerun failed to start: " + err.Error()}
	}
	if o.stopped() {
		return []string{"the rerun did not finish: no test was judged flaky"}
	}
	for _, c := range res.Cases {
		if c.Status == report.Fail && o.res.Passed(c.Package, c.Name) {
			res.MarkFlaky(c.Package, c.Name)
		}
	}
	return nil
}

// compareBaseline runs argv on the baseline snapshot id (tree) and lists
// in rep.NewFailures the failures of rep it does not have; a baseline that
// cannot run is a note.
func (r *suiteRunner) compareBaseline(ctx context.Context, argv []string, id, tree string, log *bytes.Buffer, rep *factory.TestReport) {
	base, note, err := r.baseline(ctx, argv, id, tree, log)
	if note != "" {
		rep.Notes = append(rep.Notes, note)
	}
	if err != nil {
		rep.Notes = append(rep.Notes, "no comparison with the baseline: "+factory.ErrorMessage(err))
		return
	}
	for _, f := range rep.Failures {
		for _, n := range f.Names() {
			if k := report.Key(f.Package, n); !base[k] {
				rep.NewFailures = append(rep.NewFailures, k)
			}
		}
	}
}

// resolveTrees replaces req's Snapshot and Baseline, each a snapshot id or
// any git revision, with snapshot ids, before anything runs, and returns
// the baseline's tree ("" without one).
func resolveTrees(ctx context.Context, w *sandbox.Workspace, req *factory.TestRequest) (baseTree string, err error) {
	if req.Snapshot != "" {
		snap, err := w.ResolveTree(ctx, req.Snapshot)
		if err != nil {
			return "", err
		}
		req.Snapshot = snap.ID
	}
	if req.Baseline != "" {
		base, err := w.ResolveTree(ctx, req.Baseline)
		if err != nil {
			return "", factory.Wrap("baseline", err)
		}
		req.Baseline, baseTree = base.ID, base.Tree
	}
	return baseTree, nil
}

// baselineCacheSize bounds the Runner's cache of baseline failures, kept by
// tree, suite and argv so comparing many changes against one base runs it
// once.
const baselineCacheSize = 64

// baseline runs argv on snapshot id, whose tree is tree (without reruns),
// and returns the keys of its failing tests and a note when the baseline
// itself did not run cleanly.
func (r *suiteRunner) baseline(ctx context.Context, argv []string, id, tree string, log *bytes.Buffer) (map[string]bool, string, error) {
	key := strings.Join(append([]string{tree, r.suite.Format, r.suite.JUnitPath}, argv...), "\x00")
	r.rn.mu.Lock()
	failing, ok := r.rn.baselines[key]
	r.rn.mu.Unlock()
	if ok {
		return failing, "", nil
	}
	cp, err := r.rn.ws.Isolate(ctx, id)
	if err != nil {
		return nil, "", err
	}
	defer cp.Close()
	o, err := r.run(ctx, argv, cp.Dir(), log, "baseline run on snapshot "+id)
	if err != nil {
		return nil, "", err
	}
	// Tests a crash hid on the baseline would otherwise count as new
	// failures of the change.
	r.afterCrashes(ctx, argv, cp.Dir(), log, o)
	failing = o.res.Failing()
	note := ""
	if o.stopped() || len(o.res.BuildErrors) > 0 || o.res.Broken {
		note = fmt.Sprintf("the baseline run on %s did not complete cleanly: new_failures may list old ones", id)
	} else {
		r.rn.mu.Lock()
		if len(r.rn.baselines) >= baselineCacheSize {
			r.rn.baselines = map[string]map[string]bool{}
		}
		r.rn.baselines[key] = failing
		r.rn.mu.Unlock()
	}
	return failing, note, nil
}

// newTestRunID returns a short random id, "t-" and six hex digits.
func newTestRunID() string {
	var b [3]byte
	_, _ = rand.Read(b[:])
	return "t-" + hex.EncodeToString(b[:])
}
