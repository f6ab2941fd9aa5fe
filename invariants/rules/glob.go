package rules

import (
	"path"
	"strings"

	"github.com/factory-dev/factory"
)

// validGlob reports whether g is a usable path glob.
func validGlob(g string) error {
	if g == "" || strings.HasPrefix(g, "/") || strings.HasPrefix(g, "./") {
		return factory.Errorf(factory.EINVALID, "glob %q: write a path relative to the root without a leading / or ./, e.g. internal/**/*.go", g)
	}
	for _, seg := range strings.Split(g, "/") {
		if seg == "**" {
			continue
		}
		if _, err := path.Match(seg, ""); err != nil {
			return factory.Errorf(factory.EINVALID, "glob %q: bad pattern %q", g, seg)
		}
	}
	return nil
}

// MatchGlob reports whether the slash-separated path p matches glob g. The
// glob matches the whole path; "*", "?" and "[...]" match within one path
// segment (path.Match); a "**" segment matches any number of segments,
// including none; a glob ending in "/" matches everything under it.
func MatchGlob(g, p string) bool {
	if strings.HasSuffix(g, "/") {
		g += "**"
	}
	return matchSegs(strings.Split(g, "/"), strings.Split(p, "/"))
}

func matchSegs(gs, ps []string) bool {
	for len(gs) > 0 {
		if gs[0] == "**" {
			for len(gs) > 0 && gs[0] == "**" {
				gs = gs[1:]
			}
			if len(gs) == 0 {
				return true
			}
			for i := 0; i <= len(ps); i++ {
				if matchSegs(gs, ps[i:]) {
					return true
				}
			}
			return false
		}
		if len(ps) == 0 {
			return false
		}
		if ok, _ := path.Match(gs[0], ps[0]); !ok {
			return false
		}
		gs, ps = gs[1:], ps[1:]
	}
	return len(ps) == 0
}

// MatchAny reports whether p matches any glob; no globs match everything.
func MatchAny(globs []string, p string) bool {
	if len(globs) == 0 {
		return true
	}
	for _, g := range globs {
		if MatchGlob(g, p) {
			return true
		}
	}
	return false
}

// IsImportGlob tells the two kinds of deny_imports patterns apart. A
// pattern is a Go package pattern when it is ".", starts with "./" or
// contains Go's wildcard "..." (./ui/..., github.com/x/y/...); every other
// pattern is a path glob relative to the root (app/**, db/*.ts,
// src/*/ui/**), matched with MatchGlob, which also names a package or
// module exactly when it has no wildcard (react, @scope/pkg, sqlalchemy).
func IsImportGlob(pat string) bool {
	return pat != "." && !strings.HasPrefix(pat, "./") && !strings.Contains(pat, "...")
}

// validImportPattern checks one from or to pattern of deny_imports.
func validImportPattern(pat string) error {
	if !IsImportGlob(pat) {
		return nil
	}
	if err := validGlob(pat); err != nil {
		return err
	}
	for _, seg := range strings.Split(pat, "/") {
		if seg == ".." || seg == "." {
			return factory.Errorf(factory.EINVALID, "glob %q: write the path from the root without . or .. segments; imports are resolved before they are matched", pat)
		}
	}
	return nil
}
