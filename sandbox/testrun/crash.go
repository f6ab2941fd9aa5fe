package testrun

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"regexp"
	"strings"

	"github.com/factory-dev/factory"
	"github.com/factory-dev/factory/internal/gocensus"
	"github.com/factory-dev/factory/sandbox/report"
)

// maxCrashReruns bounds the reruns of one package after crashes: each
// rerun runs at least one test the crashes hid, so a package of many
// crashing tests cannot make a run unbounded.
const maxCrashReruns = 10

// afterCrashes runs again the tests a crash hid in o, a go-json run that
// was not stopped, and merges their outcomes into o.res. A test that panics (or
// calls os.Exit, or never ends) takes its package's test binary down, and
// every test after it never runs: a report of what ran would be silent
// about them, so a crashing test could hide failing ones. For each package
// of res with a crashed test, the census (the tests go test selects, read
// from the sources) names the tests that did not run; they are run again,
// in that package, with -run naming exactly them (which leaves out the
// crashed test and every test that already ran, as -skip of the crashed
// one would, without running the others twice), and their outcomes are
// merged into res. This repeats while a rerun crashes again and tests are
// left, at most maxCrashReruns times per package, and stops when a rerun
// runs none of them (a TestMain or init that dies). It returns notes.
// A time-out is not a crash here: rerunning would cost the time limit again.
func (r *suiteRunner) afterCrashes(ctx context.Context, argv []string, dir string, log *bytes.Buffer, o outcome) []string {
	if o.stopped() || r.suite.Format != factory.FormatGoJSON {
		return nil
	}
	res := o.res
	crashed := crashedPackages(res)
	if len(crashed) == 0 {
		return nil
	}
	declared, why := r.declaredTests(argv, dir)
	if why != "" {
		return []string{fmt.Sprintf("a test crashed its test binary in %s; the tests after it did not run and could not be run again: %s", strings.Join(crashed, ", "), why)}
	}
	var notes []string
	for _, pkg := range crashed {
		if ctx.Err() != nil || strings.HasPrefix(pkg, "-") {
			break
		}
		notes = append(notes, r.rerunHidden(ctx, argv, dir, log, res, pkg, declared[pkg])...)
	}
	return notes
}

// rerunHidden reruns the tests of pkg (declared lists them all) that res
// has no outcome for, until none is left or the bound is reached.
func (r *suiteRunner) rerunHidden(ctx context.Context, argv []string, dir string, log *bytes.Buffer, res *report.Result, pkg string, declared []string) []string {
	crashers := crashedTests(res, pkg)
	ran := 0
	for round := 1; ctx.Err() == nil; round++ {
		left := notRun(res, pkg, declared)
		if len(left) == 0 {
			break
		}
		if round > maxCrashReruns {
			return []string{fmt.Sprintf("%s: %d tests crashed the test binary; after %d reruns, %d tests never ran: %s", pkg, len(crashedTests(res, pkg)), maxCrashReruns, len(left), strings.Join(capNames(left, 10), ", "))}
		}
		a := trGoNarrow(argv, pkg, runExactly(left))
		o, err := r.run(ctx, a, dir, log, fmt.Sprintf("rerun of %s without the tests that crashed it", pkg))
		if err != nil {
			return []string{"rerun after a crash failed to start: " + err.Error()}
		}
		n := res.Merge(o.res, pkg, left)
		ran += n
		if n == 0 || o.stopped() {
			return []string{fmt.Sprintf("%s: a test crashed the test binary, and its rerun ran none of the %d tests left (%s); see the log", pkg, len(left), strings.Join(capNames(left, 10), ", "))}
		}
	}
	return []string{fmt.Sprintf("%s crashed the test binary of %s: the %d tests it kept from running were run without it", strings.Join(capNames(crashers, 5), ", "), pkg, ran)}
}

// declaredTests lists, by package, the top-level tests argv selects in dir.
func (r *suiteRunner) declaredTests(argv []string, dir string) (map[string][]string, string) {
	sel, why := gocensus.ParseGoTest(argv, r.suite.Env)
	if why != "" {
		return nil, why
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err.Error()
	}
	defer root.Close()
	view, err := gocensus.NewRootView(root)
	if err != nil {
		return nil, err.Error()
	}
	c, err := gocensus.Take(view, sel)
	if err != nil {
		return nil, err.Error()
	}
	out := map[string][]string{}
	for _, t := range c.Tests {
		out[t.Package] = append(out[t.Package], t.Name)
	}
	return out, ""
}

// crashedPackages lists the packages of res with a crashed test, in order.
func crashedPackages(res *report.Result) []string {
	var out []string
	seen := map[string]bool{}
	for _, c := range res.Cases {
		if c.Crashed && c.Package != "" && !seen[c.Package] {
			seen[c.Package] = true
			out = append(out, c.Package)
		}
	}
	return out
}

// crashedTests names the top-level tests of pkg that crashed.
func crashedTests(res *report.Result, pkg string) []string {
	var out []string
	seen := map[string]bool{}
	for _, c := range res.Cases {
		top, _, _ := strings.Cut(c.Name, "/")
		if c.Crashed && c.Package == pkg && !seen[top] {
			seen[top] = true
			out = append(out, top)
		}
	}
	return out
}

// notRun keeps the names in declared that res has no case for in pkg.
func notRun(res *report.Result, pkg string, declared []string) []string {
	ran := map[string]bool{}
	for _, c := range res.Cases {
		if c.Package == pkg {
			top, _, _ := strings.Cut(c.Name, "/")
			ran[top] = true
		}
	}
	var out []string
	for _, n := range declared {
		if !ran[n] {
			out = append(out, n)
		}
	}
	return out
}

// runExactly is a -run pattern that selects exactly the top-level tests
// names (and all their subtests).
func runExactly(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = regexp.QuoteMeta(n)
	}
	return "^(" + strings.Join(q, "|") + ")$"
}

// capNames keeps the first n names, saying how many more there are.
func capNames(names []string, n int) []string {
	if len(names) <= n {
		return names
	}
	return append(append([]string(nil), names[:n]...), fmt.Sprintf("and %d more", len(names)-n))
}
