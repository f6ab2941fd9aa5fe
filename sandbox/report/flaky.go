package report

import "strings"

// Key names a case across runs: its package and full name.
func Key(pkg, name string) string {
	if pkg == "" {
		return name
	}
	return pkg + "." + name
}

// Failing returns the keys (see Key) of every failing case, parents
// included, and of every crash.
func (r *Result) Failing() map[string]bool {
	out := map[string]bool{}
	if r == nil {
		return out
	}
	for _, c := range r.Cases {
		if c.Status == Fail {
			out[Key(c.Package, c.Name)] = true
		}
	}
	for _, c := range r.Crashes {
		out[Key(c.Package, c.Name)] = true
	}
	return out
}

// Passed reports whether the case pkg/name ran and passed in r.
func (r *Result) Passed(pkg, name string) bool {
	if r == nil {
		return false
	}
	for _, c := range r.Cases {
		if c.Package == pkg && c.Name == name {
			return c.Status == Pass
		}
	}
	return false
}

// MarkFlaky records that the failing case pkg/name passed when run again:
// it becomes a passing, flaky case (keeping its failure's message and
// output for the report), and each parent that failed only through
// subtests that are now all passing passes too. It reports whether the
// case was found failing.
func (r *Result) MarkFlaky(pkg, name string) bool {
	i := r.find(pkg, name)
	if i < 0 || r.Cases[i].Status != Fail {
		return false
	}
	r.Cases[i].Status = Pass
	r.Cases[i].Flaky = true
	for p := r.Cases[i].Parent; p != ""; {
		j := r.find(pkg, p)
		if j < 0 || r.Cases[j].Status != Fail || r.Cases[j].own || r.HasFailingChild(pkg, p) {
			break
		}
		r.Cases[j].Status = Pass
		p = r.Cases[j].Parent
	}
	return true
}

func (r *Result) find(pkg, name string) int {
	for i, c := range r.Cases {
		if c.Package == pkg && c.Name == name {
			return i
		}
	}
	return -1
}

// HasFailingChild reports whether a direct subtest of pkg/name failed.
func (r *Result) HasFailingChild(pkg, name string) bool {
	for _, c := range r.Cases {
		if c.Package == pkg && c.Parent == name && c.Status == Fail {
			return true
		}
	}
	return false
}

// Merge adds to r the cases of other (a rerun of package pkg) whose
// top-level test is one of names, and other's failures outside any test
// in pkg, and returns how many of names other ran. Cases of other for
// tests r already has are ignored: r's first outcome stands.
func (r *Result) Merge(other *Result, pkg string, names []string) int {
	if other == nil {
		return 0
	}
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	ran := map[string]bool{}
	for _, c := range other.Cases {
		top, _, _ := strings.Cut(c.Name, "/")
		if c.Package != pkg || !want[top] {
			continue
		}
		ran[top] = true
		r.Cases = append(r.Cases, c)
	}
	for _, c := range other.Crashes {
		if c.Package == pkg {
			r.Crashes = append(r.Crashes, c)
		}
	}
	return len(ran)
}

// DropSkipped removes the skipped cases: under a name filter, runners such
// as node --test, vitest and jest report the tests the filter left out as
// skipped, and those did not run.
func (r *Result) DropSkipped() {
	if r == nil {
		return
	}
	kept := r.Cases[:0]
	for _, c := range r.Cases {
		if c.Status != Skip {
			kept = append(kept, c)
		}
	}
	r.Cases = kept
}
