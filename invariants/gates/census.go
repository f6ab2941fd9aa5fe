package gates

import (
	"fmt"
	"os"
	"path"
	"sort"
	"strings"

	"github.com/factory-dev/factory"
	"github.com/factory-dev/factory/internal/gocensus"
)

// census fills f's census facts after the suite ran: the tests the suite
// selects, listed from the source of the tree in r.dir (never by running
// anything: see internal/gocensus), against rep.Ran. With a diff it also
// lists the tests the base declared that the result no longer does, and
// scans the changed Go files of the selected packages for code that can
// stop or forge a run. A suite that is not a go-json `go test` command has
// no census; Census says so rather than pretend.
func (r Tree) census(suite factory.Suite, rep factory.TestReport, f *SuiteFacts) {
	f.Missing, f.Deleted, f.Tampering = []string{}, []string{}, []string{}
	if suite.Format != factory.FormatGoJSON {
		f.Census = "none: " + suite.Format + " suites have no census yet, so a declared test that did not run is not detected"
		return
	}
	sel, why := gocensus.ParseGoTest(suite.Run, suite.Env)
	if why != "" {
		f.Census = "none: " + why
		return
	}
	root, err := os.OpenRoot(r.dir)
	if err != nil {
		f.Census = "none: " + err.Error()
		return
	}
	defer root.Close()
	view, err := gocensus.NewRootView(root)
	if err != nil {
		f.Census = "none: list the tree: " + err.Error()
		return
	}
	c, err := gocensus.Take(view, sel)
	if err != nil {
		f.Census = "none: " + err.Error()
		return
	}
	f.Declared = len(c.Tests)
	r.missing(c, sel, rep, f)
	if r.diff != nil {
		r.deleted(view, c, sel, f)
		r.tampering(view, c, f)
	}
	f.Census = fmt.Sprintf("go test: %d test(s) declared in %d package(s); %d did not run, %d deleted by the change",
		f.Declared, len(c.Dirs), len(f.Missing), len(f.Deleted))
}

// missing lists the census's tests the report does not show as run, each
// with what the report knows about why.
func (r Tree) missing(c gocensus.Census, sel gocensus.Selection, rep factory.TestReport, f *SuiteFacts) {
	ran := map[string]bool{}
	for _, k := range rep.Ran {
		ran[k] = true
	}
	cached, broken := map[string]bool{}, map[string]bool{}
	for _, p := range rep.Cached {
		cached[p] = true
	}
	for _, b := range rep.BuildErrors {
		broken[b.Package] = true
	}
	for _, t := range c.Tests {
		if ran[t.Key()] {
			continue
		}
		why := ""
		switch {
		case cached[t.Package]:
			why = "; its package was answered from go's test cache"
		case broken[t.Package]:
			why = "; its package did not build"
		}
		f.Missing = append(f.Missing, t.Key())
		f.Details = append(f.Details, fmt.Sprintf("did not run: %s (%s:%d)%s", t.Key(), t.File, t.Line, why))
	}
	if sel.Failfast && len(f.Missing) > 0 && len(rep.Failures) > 0 {
		f.Details = append(f.Details, "the suite runs with -failfast: tests after the first failure do not run")
	}
}

// deleted lists the tests the base's census selects that this tree's does
// not: removed, renamed out of -run, excluded by a build constraint, moved
// into another module.
func (r Tree) deleted(view gocensus.View, c gocensus.Census, sel gocensus.Selection, f *SuiteFacts) {
	base := gocensus.Overlay{Under: view, Files: BaseFiles(r.diff, view.ReadFile)}
	bc, err := gocensus.Take(base, sel)
	if err != nil {
		f.Details = append(f.Details, "no census of the base, so deleted tests are not listed: "+err.Error())
		return
	}
	now := map[string]bool{}
	for _, t := range c.Tests {
		now[t.Key()] = true
	}
	for _, t := range bc.Tests {
		if !now[t.Key()] {
			f.Deleted = append(f.Deleted, t.Key())
			f.Details = append(f.Details, fmt.Sprintf("deleted by the change: %s (was %s:%d)", t.Key(), t.File, t.Line))
		}
	}
}

// tampering scans the Go files the change added or modified (see
// gocensus.Scan): test files of the selected packages, and every non-test
// file, whose init functions run in the test binary of each package that
// imports it. Findings that forge a run are facts, the others evidence.
func (r Tree) tampering(view gocensus.View, c gocensus.Census, f *SuiteFacts) {
	var changed []string
	for _, s := range r.diff.stats {
		if s.Status == factory.StatusDeleted || !strings.HasSuffix(s.Path, ".go") {
			continue
		}
		dir := path.Dir(s.Path)
		if dir == "." {
			dir = ""
		}
		if _, selected := c.Dirs[dir]; selected || !strings.HasSuffix(s.Path, "_test.go") {
			changed = append(changed, s.Path)
		}
	}
	sort.Strings(changed)
	for _, p := range changed {
		src, err := view.ReadFile(p)
		if err != nil {
			continue
		}
		for _, fd := range gocensus.Scan(p, src) {
			if fd.Forges {
				f.Tampering = append(f.Tampering, fd.String())
				f.Details = append(f.Details, "forges a run: "+fd.String())
			} else {
				f.Details = append(f.Details, "stops tests: "+fd.String())
			}
		}
	}
}
