package gates

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/factory-dev/factory"
	"github.com/factory-dev/factory/invariants/rules"
)

// suite runs a configured test suite through the Runner and reports its
// counts and failures; a timeout, or a suite that ran no test, is an error
// rather than a pass.
func (r Tree) suite(ctx context.Context, g rules.Gate) (any, error) {
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
		for _, n := range t.Names() { // a group of failures with one message names them all
			name := n
			if t.Package != "" {
				name = t.Package + "." + n
			}
			f.Failures = append(f.Failures, name)
			f.Details = append(f.Details, fmt.Sprintf("FAIL %s (%s): %s", name, location("", t.File, t.Line), t.Message))
		}
	}
	if rep.Status == factory.TestTimeout {
		return nil, factory.Errorf(factory.ETIMEOUT, "suite %s timed out", suite.Name)
	}
	r.census(suite, rep, &f)
	if f.Total == 0 && f.BuildErrors == 0 {
		// the census's lines say why, when it knows
		return nil, factory.Errorf(factory.EINVALID, "suite %s ran zero tests (exit code %d); a suite that tests nothing is not a pass%s", suite.Name, rep.ExitCode, prefixLines("\n", Limit(f.Details, 20)))
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

// location is "file:line" for a report, falling back to the package and
// to "?" when nothing is known.
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

// CompareFailures splits cur's failures into those that do not fail on the
// base and those that already did.
func CompareFailures(cur, base SuiteFacts) SuiteFacts {
	was := make(map[string]bool, len(base.Failures))
	for _, f := range base.Failures {
		was[f] = true
	}
	cur.NewFailures, cur.AlreadyFailing = []string{}, []string{}
	for _, f := range cur.Failures {
		if was[f] {
			cur.AlreadyFailing = append(cur.AlreadyFailing, f)
		} else {
			cur.NewFailures = append(cur.NewFailures, f)
		}
	}
	return cur
}

// Limit keeps the first n of s and says how many more there were.
func Limit(s []string, n int) []string {
	if len(s) <= n {
		return s
	}
	return append(append([]string{}, s[:n]...), fmt.Sprintf("... and %d more", len(s)-n))
}
