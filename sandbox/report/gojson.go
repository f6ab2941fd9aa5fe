package report

import (
	"bytes"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/factory-dev/factory"
	"gotest.tools/gotestsum/testjson"
)

// Actions newer Go (1.24+) emits for build output under `go test -json`;
// the events carry ImportPath instead of Package.
const (
	actionBuildOutput = "build-output"
	actionBuildFail   = "build-fail"
)

// ParseGoJSON parses the standard output and standard error of
// `go test -json`. It never fails: lines that are not JSON events become
// build errors (stderr: the go command's own complaints) or notes (stdout).
//
// Decisions: a test that started but never ended is a failure (the binary
// crashed or was killed), marked Timeout when its package printed "panic:
// test timed out" or when timedOut says the whole run was stopped by its
// time limit; a subtest that never ended under a parent that passed is
// ignored (an old go test bug). A package that fails with no failing test
// and no build error is a crash.
func ParseGoJSON(stdout, stderr []byte, timedOut bool) *Result {
	h := &goHandler{
		cases:     map[goKey]*goCase{},
		pkgOut:    map[string]*strings.Builder{},
		pkgFail:   map[string]bool{},
		build:     map[string]*strings.Builder{},
		timeoutIn: map[string]bool{},
		cached:    map[string]bool{},
	}
	// Only JSON events go to the scanner: gotestsum's own warning about a
	// bad line would otherwise go to our stderr.
	var events bytes.Buffer
	for _, l := range bytes.Split(stdout, []byte("\n")) {
		t := bytes.TrimSpace(l)
		switch {
		case len(t) == 0:
		case t[0] == '{':
			events.Write(t)
			events.WriteByte('\n')
		case bytes.HasPrefix(t, []byte("FAIL")), bytes.HasPrefix(t, []byte("ok ")), bytes.Equal(t, []byte("PASS")):
			// Summary lines some go versions print outside the JSON.
		default:
			h.stray = append(h.stray, string(t))
		}
	}
	_, err := testjson.ScanTestOutput(testjson.ScanConfig{
		Stdout:                   &events,
		Stderr:                   bytes.NewReader(stderr),
		Handler:                  h,
		IgnoreNonJSONOutputLines: true,
	})
	res := h.result(timedOut)
	if err != nil {
		res.Notes = append(res.Notes, "test output only partly readable: "+err.Error())
	}
	return res
}

type goKey struct{ pkg, test string }

type goCase struct {
	key      goKey
	status   string // "" while running
	out      strings.Builder
	timedOut bool
}

type goHandler struct {
	cases      map[goKey]*goCase
	order      []*goCase
	pkgOut     map[string]*strings.Builder
	pkgOrder   []string
	pkgFail    map[string]bool
	build      map[string]*strings.Builder
	buildOrder []string
	timeoutIn  map[string]bool // packages that printed "panic: test timed out"
	cached     map[string]bool // packages whose "ok" line says (cached)
	stderr     []string
	stray      []string
}

func (h *goHandler) Event(e testjson.TestEvent, _ *testjson.Execution) error {
	switch string(e.Action) {
	case actionBuildOutput, actionBuildFail:
		b := h.build[e.ImportPath]
		if b == nil {
			b = &strings.Builder{}
			h.build[e.ImportPath] = b
			h.buildOrder = append(h.buildOrder, e.ImportPath)
		}
		b.WriteString(e.Output)
		return nil
	}
	if e.Test == "" {
		b := h.pkgOut[e.Package]
		if b == nil {
			b = &strings.Builder{}
			h.pkgOut[e.Package] = b
			h.pkgOrder = append(h.pkgOrder, e.Package)
		}
		switch e.Action {
		case testjson.ActionOutput:
			b.WriteString(e.Output)
			if strings.HasPrefix(e.Output, "panic: test timed out") {
				h.timeoutIn[e.Package] = true
			}
			if cachedLine(e.Output) {
				h.cached[e.Package] = true
			}
		case testjson.ActionFail:
			h.pkgFail[e.Package] = true
		}
		return nil
	}
	k := goKey{e.Package, e.Test}
	c := h.cases[k]
	if c == nil {
		c = &goCase{key: k}
		h.cases[k] = c
		h.order = append(h.order, c)
	}
	switch e.Action {
	case testjson.ActionOutput:
		c.out.WriteString(e.Output)
		if strings.HasPrefix(e.Output, "panic: test timed out") {
			h.timeoutIn[e.Package] = true
			c.timedOut = true
		}
	case testjson.ActionPass:
		c.status = Pass
	case testjson.ActionFail:
		if e.Elapsed < 0 {
			// gotestsum's synthetic end of a test that never ended: leave
			// it running, result() decides what that means.
			return nil
		}
		c.status = Fail
	case testjson.ActionSkip:
		c.status = Skip
	}
	return nil
}

func (h *goHandler) Err(text string) error {
	t := strings.TrimSpace(text)
	if t == "" || strings.HasPrefix(t, "go: downloading") || strings.HasPrefix(t, "go: finding") ||
		strings.HasPrefix(t, "go: extracting") || strings.HasPrefix(t, "warning:") {
		return nil
	}
	h.stderr = append(h.stderr, text)
	return nil
}

func (h *goHandler) result(timedOut bool) *Result {
	res := &Result{}
	// Build errors, per package, in the order go reported them.
	failedBuild := map[string]bool{}
	for _, ip := range h.buildOrder {
		pkg, _, _ := strings.Cut(ip, " ")
		failedBuild[pkg] = true
		res.BuildErrors = append(res.BuildErrors, goBuildError(pkg, splitLines(h.build[ip].String())))
	}
	if len(h.stderr) > 0 {
		be := factory.BuildError{Message: strings.TrimSpace(h.stderr[0])}
		be.Output, _ = headTail(h.stderr)
		res.BuildErrors = append(res.BuildErrors, be)
	}

	// Tests named by "running tests:" after a timeout panic.
	running := map[goKey]bool{}
	for _, c := range h.order {
		if c.timedOut {
			for _, n := range runningTests(c.out.String()) {
				running[goKey{c.key.pkg, n}] = true
			}
		}
	}
	for _, p := range h.pkgOrder {
		if h.timeoutIn[p] {
			for _, n := range runningTests(h.pkgOut[p].String()) {
				running[goKey{p, n}] = true
			}
		}
	}

	for _, p := range h.pkgOrder {
		if h.cached[p] {
			res.Cached = append(res.Cached, p)
		}
	}
	if len(res.Cached) > 0 {
		res.Notes = append(res.Notes, fmt.Sprintf("%d package(s) answered from go's test cache, not run (%s): their tests are not counted; run go test with -count=1", len(res.Cached), strings.Join(res.Cached, ", ")))
	}
	failedIn := map[string]bool{}
	for _, c := range h.order {
		if h.cached[c.key.pkg] {
			continue
		}
		tc := Case{Name: c.key.test, Package: c.key.pkg, Status: c.status}
		if i := strings.LastIndex(tc.Name, "/"); i >= 0 {
			tc.Parent = tc.Name[:i]
		}
		if tc.Status == "" {
			if p := h.cases[goKey{c.key.pkg, tc.Parent}]; tc.Parent != "" && p != nil && p.status == Pass {
				continue
			}
			// Unfinished: own only if its output says why (set below), so an
			// unfinished parent folds into its unfinished subtest.
			tc.Status = Fail
			tc.Timeout = timedOut || h.timeoutIn[c.key.pkg]
		}
		tc.Timeout = tc.Timeout || c.timedOut || running[c.key]
		if tc.Status == Fail {
			failedIn[c.key.pkg] = true
			lines := goOwnLines(c.out.String())
			tc.Output = lines
			tc.Message, tc.File, tc.Line = goMessage(lines)
			if tc.Message != "" {
				tc.own = true
			}
			if tc.Timeout && tc.Message == "" {
				tc.Message = "test did not finish in time"
			}
			// Unfinished, or panicked (testing re-panics after the report): the binary died.
			tc.Crashed = h.pkgFail[c.key.pkg] && !tc.Timeout && (c.status == "" || strings.HasPrefix(tc.Message, "panic: "))
		}
		res.Cases = append(res.Cases, tc)
	}

	// A package that failed with no failing test and no build error.
	for _, p := range h.pkgOrder {
		if !h.pkgFail[p] || failedIn[p] || failedBuild[p] || h.cached[p] {
			continue
		}
		out := h.pkgOut[p].String()
		if strings.Contains(out, "[build failed]") || strings.Contains(out, "[setup failed]") {
			continue
		}
		lines := goOwnLines(out)
		c := Case{Name: "(package)", Package: p, Status: Fail, Output: lines, own: true, Timeout: h.timeoutIn[p]}
		c.Message, c.File, c.Line = goMessage(lines)
		if c.Message == "" {
			c.Message = "package failed outside any test (TestMain, init or os.Exit)"
		}
		res.Crashes = append(res.Crashes, c)
	}
	if len(h.stray) > 0 {
		res.Notes = append(res.Notes, "output that is not test2json: "+h.stray[0])
	}
	return res
}

// cachedLine reports whether a package's output line is go test's summary
// of a result taken from its cache: "ok  \tpkg\t(cached)".
func cachedLine(out string) bool {
	f := strings.Fields(out)
	return len(f) >= 3 && f[0] == "ok" && f[2] == "(cached)"
}

// goOwnLines splits a test's output into lines, dropping go test's framing
// (=== RUN, --- FAIL:, bare PASS/FAIL, ok/FAIL package summaries) and the
// shared indentation.
func goOwnLines(out string) []string {
	var lines []string
	for _, l := range splitLines(out) {
		t := strings.TrimSpace(l)
		switch {
		case strings.HasPrefix(t, "=== RUN"), strings.HasPrefix(t, "=== PAUSE"),
			strings.HasPrefix(t, "=== CONT"), strings.HasPrefix(t, "=== NAME"),
			strings.HasPrefix(t, "--- FAIL:"), strings.HasPrefix(t, "--- PASS:"),
			strings.HasPrefix(t, "--- SKIP:"), t == "FAIL", t == "PASS",
			strings.HasPrefix(t, "FAIL\t"), strings.HasPrefix(t, "ok  \t"),
			strings.HasPrefix(t, "exit status "):
			continue
		}
		lines = append(lines, l)
	}
	for len(lines) > 0 && strings.TrimSpace(lines[len(lines)-1]) == "" {
		lines = lines[:len(lines)-1]
	}
	return dedent(lines)
}

var (
	goLogRe       = regexp.MustCompile(`^\s*([A-Za-z0-9_.\-/]+\.go):(\d+): ?(.*)$`)
	goFrameRe     = regexp.MustCompile(`^\s+(\S+\.go):(\d+)(?: \+0x[0-9a-f]+)?$`)
	goBuildRe     = regexp.MustCompile(`^(\S+\.go):(\d+)(?::\d+)?: (.*)$`)
	assertionRe   = regexp.MustCompile(`(?i)want|expect|got|error|fail|mismatch|should|unexpected|assert|not equal|!=|differ|missing|wrong|bad|invalid|broke`)
	testifyErrRe  = regexp.MustCompile(`^\s*Error:\s+(.*)$`)
	runningTestRe = regexp.MustCompile(`^\t\t(\S.*) \([^)]*\)$`)
)

// goMessage picks the line that explains a Go test failure: a panic line,
// testify's "Error:" line, or the first `file.go:NN: msg` line that reads
// like an assertion (want, got, expected, ...). A test that logs before it
// fails (t.Log("step 1")) must not have its log reported as the reason, so
// plain log lines are only the fallback: the first of them when nothing
// reads like an assertion.
func goMessage(lines []string) (msg, file string, line int) {
	var fbMsg, fbFile string
	var fbLine int
	for i, l := range lines {
		t := strings.TrimSpace(l)
		if strings.HasPrefix(t, "panic: ") {
			f, n := goPanicFrame(lines[i+1:])
			return t, f, n
		}
		m := goLogRe.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		n, _ := strconv.Atoi(m[2])
		text := strings.TrimSpace(m[3])
		if text == "" || strings.HasPrefix(text, "Error Trace:") {
			for _, next := range lines[i+1:] {
				if em := testifyErrRe.FindStringSubmatch(next); em != nil {
					return strings.TrimSpace(em[1]), m[1], n
				}
			}
			continue
		}
		if assertionRe.MatchString(text) {
			return text, m[1], n
		}
		if fbMsg == "" {
			fbMsg, fbFile, fbLine = text, m[1], n
		}
	}
	return fbMsg, fbFile, fbLine
}

// goPanicFrame returns the first stack frame below a panic that is not in
// the runtime or the testing package.
func goPanicFrame(lines []string) (string, int) {
	fn := ""
	for _, l := range lines {
		if m := goFrameRe.FindStringSubmatch(l); m != nil {
			if fn != "" && !strings.HasPrefix(fn, "runtime.") && !strings.HasPrefix(fn, "testing.") &&
				!strings.HasPrefix(fn, "panic(") && !strings.HasPrefix(fn, "created by ") &&
				!strings.Contains(m[1], "/src/runtime/") && !strings.Contains(m[1], "/src/testing/") {
				n, _ := strconv.Atoi(m[2])
				return m[1], n
			}
			continue
		}
		fn = strings.TrimSpace(l)
	}
	return "", 0
}

// runningTests reads the "running tests:" list that follows go test's
// timeout panic.
func runningTests(out string) []string {
	var names []string
	in := false
	for _, l := range splitLines(out) {
		if strings.TrimSpace(l) == "running tests:" {
			in = true
			continue
		}
		if !in {
			continue
		}
		m := runningTestRe.FindStringSubmatch(l)
		if m == nil {
			break
		}
		names = append(names, m[1])
	}
	return names
}

// goBuildError makes one BuildError of a package's build output.
func goBuildError(pkg string, lines []string) factory.BuildError {
	var body []string
	for _, l := range lines {
		if h, ok := strings.CutPrefix(l, "# "); ok {
			// The header names the package that failed; ImportPath may
			// name a missing dependency instead ([setup failed]).
			if f := strings.Fields(h); len(f) > 0 {
				pkg = f[0]
			}
			continue
		}
		body = append(body, l)
	}
	be := factory.BuildError{Package: pkg}
	for _, l := range body {
		if m := goBuildRe.FindStringSubmatch(strings.TrimSpace(l)); m != nil {
			be.File = m[1]
			be.Line, _ = strconv.Atoi(m[2])
			be.Message = m[3]
			break
		}
	}
	if be.Message == "" {
		be.Message = firstMeaningful(body)
	}
	if be.Message == "" {
		be.Message = "build failed"
	}
	be.Output, _ = headTail(body)
	return be
}
