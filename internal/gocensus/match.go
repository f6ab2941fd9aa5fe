package gocensus

import (
	"fmt"
	"regexp"
)

// nameMatcher decides whether go test's -run and -skip let a top-level
// test run, as package testing's matcher does for a name of one element.
type nameMatcher struct {
	run, skip [][]*regexp.Regexp // alternatives of '/'-separated levels; nil matches all
}

func newNameMatcher(run, skip string) (nameMatcher, error) {
	var m nameMatcher
	var err error
	if run != "" {
		if m.run, err = compileFilter(run); err != nil {
			return m, fmt.Errorf("-run %q: %v", run, err)
		}
	}
	if skip != "" {
		if m.skip, err = compileFilter(skip); err != nil {
			return m, fmt.Errorf("-skip %q: %v", skip, err)
		}
	}
	return m, nil
}

// selects reports whether the top-level test name runs: some -run
// alternative's first level matches it, and no -skip alternative of a
// single level does (a longer -skip skips subtests only).
func (m nameMatcher) selects(name string) bool {
	if m.run != nil {
		ok := false
		for _, alt := range m.run {
			ok = ok || alt[0].MatchString(name)
		}
		if !ok {
			return false
		}
	}
	for _, alt := range m.skip {
		if len(alt) == 1 && alt[0].MatchString(name) {
			return false
		}
	}
	return true
}

func compileFilter(s string) ([][]*regexp.Regexp, error) {
	var out [][]*regexp.Regexp
	for _, alt := range splitRegexp(s) {
		var levels []*regexp.Regexp
		for _, l := range alt {
			re, err := regexp.Compile(l)
			if err != nil {
				return nil, err
			}
			levels = append(levels, re)
		}
		out = append(out, levels)
	}
	return out, nil
}

// splitRegexp is package testing's: s split into alternatives at top-level
// '|' and each into levels at top-level '/' (outside brackets and
// parentheses).
func splitRegexp(s string) [][]string {
	var alts [][]string
	var a []string
	cs, cp := 0, 0
	for i := 0; i < len(s); {
		switch s[i] {
		case '[':
			cs++
		case ']':
			if cs--; cs < 0 {
				cs = 0
			}
		case '(':
			if cs == 0 {
				cp++
			}
		case ')':
			if cs == 0 {
				cp--
			}
		case '\\':
			i++
		case '/', '|':
			if cs == 0 && cp == 0 {
				a = append(a, s[:i])
				if s[i] == '|' {
					alts = append(alts, a)
					a = nil
				}
				s = s[i+1:]
				i = 0
				continue
			}
		}
		i++
	}
	return append(alts, append(a, s))
}
