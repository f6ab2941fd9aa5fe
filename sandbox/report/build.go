package report

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/factory-dev/factory"
)

// Input is what Build needs besides the parsed result.
type Input struct {
	Suite     string // suite name, copied into the report
	Format    string // factory.FormatGoJSON, FormatJUnit, FormatTAP or FormatExitCode
	ExitCode  int    // the command's exit code (-1 when killed by a signal)
	TimedOut  bool   // the suite's time limit ran out and the run was killed
	Cancelled bool   // the caller cancelled the run
	// Log is the run's combined output; FormatExitCode reads its failure
	// from it.
	Log []byte
	// Root is the directory the suite ran in. File paths under it are made
	// relative to it, so a report names files as the agent knows them.
	Root string
}

// Build makes the compact report of res. It never fails.
//
// Status: timeout when the run was killed by its limit or a test timed out;
// error when a build failed, the run was cancelled, the output says the run
// broke, no test ran ("no tests ran": the invariant gate relies on it), or
// the command failed without any failing test; fail when a test failed;
// pass otherwise.
//
// Counts count every case the runner reported, subtests included, each as
// passed, failed or skipped, except a parent failing only through its
// subtests: it is folded into them and not counted, so Counts.Failed is the
// number of test failures listed (crashes outside any test are listed and
// not counted; they are not tests). Failures list leaf failures: a parent whose only
// failure is its subtests is dropped (its subtests are listed); a parent
// that also failed by itself stays, with its failing subtests named in
// Subtests. Crashes follow the test failures. Flaky cases (passed on the
// runner's own retry) are counted as passed and listed in Flaky.
func Build(res *Result, in Input) factory.TestReport {
	rep := factory.TestReport{Suite: in.Suite, ExitCode: in.ExitCode}
	if res == nil {
		res = &Result{}
	}
	if in.Format == factory.FormatExitCode && len(res.Cases) == 0 && len(res.BuildErrors) == 0 {
		res = mergeExit(res, ParseExitCode(in.Suite, in.ExitCode, in.TimedOut, in.Log))
	}

	for _, be := range res.BuildErrors {
		be.File = relPath(in.Root, be.File)
		if onlySays(be.Output, be.Message) {
			be.Output = nil
		}
		rep.BuildErrors = append(rep.BuildErrors, be)
	}

	failingChildren := map[string][]string{} // parent -> failing leaves under it
	for _, c := range res.Cases {
		if c.Status == Fail {
			for p := c.Parent; p != ""; p = parentOf(res.Cases, c.Package, p) {
				failingChildren[c.Package+"\x00"+p] = append(failingChildren[c.Package+"\x00"+p], c.Name)
			}
		}
	}
	rep.Cached = res.Cached
	timedOut := false
	compact := in.Format != factory.FormatGoJSON
	// Runners other than go test restate their message and place in
	// their output: compacted before the head and tail are kept.
	failureOf := func(c Case, root string) factory.TestFailure {
		if compact {
			c.Output = compactOutput(c.Output, c.Message, c.File, c.Line)
		}
		return failure(c, root)
	}
	for _, c := range res.Cases {
		rep.Counts.Total++
		if c.Parent == "" {
			rep.Ran = append(rep.Ran, Key(c.Package, c.Name))
		}
		switch c.Status {
		case Pass:
			rep.Counts.Passed++
			if c.Flaky {
				rep.Flaky = append(rep.Flaky, failureOf(c, in.Root))
			}
			continue
		case Skip:
			rep.Counts.Skipped++
			continue
		}
		timedOut = timedOut || c.Timeout
		subs := failingChildren[c.Package+"\x00"+c.Name]
		if len(subs) > 0 && !c.own {
			// Folded: its subtests are reported and counted, it is not, so
			// counts.failed is the number of failures listed.
			rep.Counts.Total--
			continue
		}
		rep.Counts.Failed++
		f := failureOf(c, in.Root)
		f.Subtests = leaves(subs, failingChildren, c.Package)
		rep.Failures = append(rep.Failures, f)
	}
	rep.Failures = group(rep.Failures)
	for _, c := range res.Crashes {
		timedOut = timedOut || c.Timeout
		rep.Failures = append(rep.Failures, failureOf(c, in.Root))
	}
	rep.Notes = append(rep.Notes, res.Notes...)

	switch {
	case in.TimedOut:
		rep.Status = factory.TestTimeout
		rep.Notes = append(rep.Notes, "the suite ran out of time and was stopped; the report holds what ran before")
	case timedOut:
		rep.Status = factory.TestTimeout
	case in.Cancelled:
		rep.Status = factory.TestError
		rep.Notes = append(rep.Notes, "the run was cancelled")
	case len(rep.BuildErrors) > 0:
		rep.Status = factory.TestError
	case len(rep.Failures) > 0:
		rep.Status = factory.TestFail
	case res.Broken:
		rep.Status = factory.TestError
	case rep.Counts.Total == 0:
		rep.Status = factory.TestError
		rep.Notes = append(rep.Notes, "no tests ran")
	case in.ExitCode != 0 && len(rep.Flaky) == 0: // a flaky failure explains the exit code
		rep.Status = factory.TestError
		rep.Notes = append(rep.Notes, fmt.Sprintf("the command exited with %d but reported no failing test; see the full log", in.ExitCode))
	default:
		rep.Status = factory.TestPass
	}
	return rep
}

func failure(c Case, root string) factory.TestFailure {
	f := factory.TestFailure{
		Name:    c.Name,
		Package: c.Package,
		File:    relPath(root, c.File),
		Line:    c.Line,
		Message: c.Message,
		Timeout: c.Timeout,
		Crashed: c.Crashed,
	}
	f.Output, f.Omitted = headTail(c.Output)
	if root != "" && root != "/" {
		// Paths as the agent knows them: the run's copy means nothing to it.
		prefix := strings.TrimSuffix(root, "/") + "/"
		out := make([]string, len(f.Output))
		for i, l := range f.Output {
			out[i] = strings.ReplaceAll(l, prefix, "")
		}
		f.Output = out
	}
	if onlySays(f.Output, f.Message) {
		f.Output = nil // "x_test.go:12: msg" says nothing File, Line and Message do not
	}
	return f
}

// onlySays reports whether output is one line that holds msg and nothing
// else worth reading.
func onlySays(output []string, msg string) bool {
	return len(output) == 1 && msg != "" && strings.HasSuffix(strings.TrimSpace(output[0]), msg)
}

// parentOf returns the parent of the case named name in pkg, "" when there
// is none.
func parentOf(cases []Case, pkg, name string) string {
	for _, c := range cases {
		if c.Package == pkg && c.Name == name {
			return c.Parent
		}
	}
	return ""
}

// leaves keeps the names in subs that are not themselves folded parents.
func leaves(subs []string, failingChildren map[string][]string, pkg string) []string {
	var out []string
	for _, s := range subs {
		if len(failingChildren[pkg+"\x00"+s]) == 0 {
			out = append(out, s)
		}
	}
	return out
}

// relPath makes an absolute path under root relative to it.
func relPath(root, p string) string {
	if root == "" || p == "" || !filepath.IsAbs(p) {
		return p
	}
	if r, err := filepath.Rel(root, p); err == nil && !strings.HasPrefix(r, "..") {
		return r
	}
	return p
}

var errorLineRe = regexp.MustCompile(`(?i)\b(error|fail(ed|ure)?|panic(ked)?|assert\w*|exception|fatal)\b`)

// mergeExit adds the case of an exit-code suite to what else was known.
func mergeExit(res, exit *Result) *Result {
	exit.BuildErrors = append(res.BuildErrors, exit.BuildErrors...)
	exit.Notes = append(res.Notes, exit.Notes...)
	return exit
}

// ParseExitCode makes the one case of a suite that reports only an exit
// code: named after the suite, failed when the code is not zero or the run
// timed out, with the log's first error-looking line as its message. A run
// stopped before it printed anything has no case. A log that is cargo
// test's (ParseLibtest) gives its cases instead, and the one case only
// when the command failed with no failing test or build error to show.
func ParseExitCode(suite string, exitCode int, timedOut bool, log []byte) *Result {
	if suite == "" {
		suite = "suite"
	}
	if lt, ok := ParseLibtest(log); ok {
		failed := len(lt.BuildErrors) > 0
		for _, c := range lt.Cases {
			failed = failed || c.Status == Fail
		}
		if failed || exitCode == 0 && !timedOut {
			return lt
		}
		exit := ParseExitCode(suite, exitCode, timedOut, nil)
		lt.Cases = append(lt.Cases, exit.Cases...)
		return lt
	}
	out := &Result{}
	if timedOut && len(log) == 0 {
		return out
	}
	c := Case{Name: suite, Status: Pass}
	if exitCode != 0 || timedOut {
		lines := splitLines(string(log))
		c.Status, c.own, c.Output, c.Timeout = Fail, true, lines, timedOut
		for _, l := range lines {
			if errorLineRe.MatchString(l) {
				c.Message = strings.TrimSpace(l)
				break
			}
		}
		if c.Message == "" {
			c.Message = fmt.Sprintf("exited with %d", exitCode)
		}
		c.File, c.Line = findLocation(lines)
	}
	out.Cases = []Case{c}
	return out
}

// group folds the failures of one package that have the same message at
// the same place (file and line; and the same kind: timeout, crash) into
// the first of them, with Count, Tests
// and AllTests: seventeen tests broken by one cause cost one entry. A
// failure without a message, or with failing subtests, stays alone; so do
// equal messages at different places, since runners print generic
// headers ("Expected values to be strictly equal:") for distinct failures.
func group(fs []factory.TestFailure) []factory.TestFailure {
	type key struct {
		pkg, msg, file   string
		line             int
		timeout, crashed bool
	}
	at := map[key]int{}
	var out []factory.TestFailure
	for _, f := range fs {
		k := key{f.Package, f.Message, f.File, f.Line, f.Timeout, f.Crashed}
		i, ok := at[k]
		if f.Message == "" || len(f.Subtests) > 0 || !ok {
			if f.Message != "" && len(f.Subtests) == 0 {
				at[k] = len(out)
			}
			out = append(out, f)
			continue
		}
		g := &out[i]
		if g.Count == 0 {
			g.Count, g.AllTests = 1, []string{g.Name}
		}
		g.Count++
		g.AllTests = append(g.AllTests, f.Name)
		if len(g.Tests) < factory.MaxGroupedNames {
			g.Tests = append(g.Tests, f.Name)
		}
	}
	return out
}
