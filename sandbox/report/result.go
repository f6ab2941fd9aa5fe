package report

import (
	"regexp"
	"strconv"
	"strings"

	"github.com/factory-dev/factory"
)

// Case statuses.
const (
	Pass = "pass"
	Fail = "fail"
	Skip = "skip"
)

// Output budget of one failure: the first HeadLines and the last TailLines
// lines of its own output are kept, the count of those between is reported.
const (
	HeadLines = 3
	TailLines = 12
)

// Case is one test (or subtest) as a runner reported it.
type Case struct {
	Name    string // full name: "TestX/sub" for Go, "parent > child" for nested TAP and JUnit
	Parent  string // full name of the enclosing test, "" for a top-level test
	Package string // Go import path, JUnit classname, "" for TAP
	Status  string // Pass, Fail or Skip
	File    string // where it failed, as the runner printed it
	Line    int
	Message string   // first assertion or panic line
	Output  []string // its own output, framing lines removed
	Timeout bool     // it was running when a time limit ran out
	Flaky   bool     // the runner itself retried it and it passed (surefire flakyFailure)
	// Crashed is set when the test took its test binary down with it (a
	// panic, os.Exit, a test that never ended without a time limit running
	// out): the tests after it in its package did not run in that binary.
	Crashed bool

	// own is true when the case failed by itself, not merely because a
	// subtest did: a parent without it is dropped when its subtests fail.
	own bool
}

// Result is a parsed run, before Build makes it a report.
type Result struct {
	Cases       []Case
	BuildErrors []factory.BuildError
	// Crashes are failures outside any test (a TestMain or init that exits,
	// a Go package that fails with no failing test). They become failures
	// without counting as tests.
	Crashes []Case
	// Notes are things worth telling that are not failures: a TAP plan that
	// was not met, a bail out, stray output.
	Notes []string
	// Broken is set when the output says the run itself went wrong (a TAP
	// "Bail out!", unreadable output): Build reports status error unless
	// there are test failures to show.
	Broken bool
	// Cached lists the packages go test answered from its test cache: their
	// cases are dropped, since a cached result is not a run.
	Cached []string
}

// headTail keeps the first HeadLines and last TailLines of lines and says
// how many it left out between them.
func headTail(lines []string) ([]string, int) {
	if len(lines) <= HeadLines+TailLines {
		return lines, 0
	}
	out := make([]string, 0, HeadLines+TailLines)
	out = append(out, lines[:HeadLines]...)
	out = append(out, lines[len(lines)-TailLines:]...)
	return out, len(lines) - HeadLines - TailLines
}

// splitLines splits s into lines without their line endings, dropping one
// trailing empty line.
func splitLines(s string) []string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.TrimSuffix(s, "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// dedent removes the indentation all non-blank lines share.
func dedent(lines []string) []string {
	min := -1
	for _, l := range lines {
		if strings.TrimSpace(l) == "" {
			continue
		}
		n := len(l) - len(strings.TrimLeft(l, " "))
		if min < 0 || n < min {
			min = n
		}
	}
	if min <= 0 {
		return lines
	}
	out := make([]string, len(lines))
	for i, l := range lines {
		if len(l) >= min {
			out[i] = l[min:]
		} else {
			out[i] = strings.TrimLeft(l, " ")
		}
	}
	return out
}

// locRe finds "path.ext:line" in a runner's failure text: Python and
// JavaScript tracebacks, Rust panics, Java stack frames.
var locRe = regexp.MustCompile(`([A-Za-z0-9_./\\@+-]+\.(?:py|js|mjs|cjs|ts|tsx|jsx|rs|java|kt|go|rb|c|cc|cpp|h)):(\d+)`)

// javaLibFrameRe matches stack frames of the JVM and of assertion and test
// libraries, which never hold the failing line.
var javaLibFrameRe = regexp.MustCompile(`^\s*at (java|javax|jdk|sun|kotlin|org\.junit|junit|org\.opentest4j|org\.assertj|org\.hamcrest|org\.apache\.maven|org\.testng)\.`)

// findLocation returns the first location in lines that is not inside a
// dependency or the runtime (node_modules, node:internal, site-packages,
// the Rust standard library).
func findLocation(lines []string) (string, int) {
	for _, l := range lines {
		for _, m := range locRe.FindAllStringSubmatch(l, -1) {
			f := m[1]
			if strings.HasPrefix(f, "//") { // file:///abs/path
				f = "/" + strings.TrimLeft(f, "/")
			}
			if strings.Contains(f, "node_modules/") || strings.Contains(l, "node:internal") ||
				strings.Contains(f, "site-packages/") || strings.Contains(f, "/rustc/") ||
				strings.Contains(f, "/_pytest/") || javaLibFrameRe.MatchString(l) {
				continue
			}
			n, err := strconv.Atoi(m[2])
			if err != nil {
				continue
			}
			return f, n
		}
	}
	return "", 0
}

// firstMeaningful returns the first line that is not blank.
func firstMeaningful(lines []string) string {
	for _, l := range lines {
		if t := strings.TrimSpace(l); t != "" {
			return t
		}
	}
	return ""
}
