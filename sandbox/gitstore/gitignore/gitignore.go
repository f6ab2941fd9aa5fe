package gitignore

import (
	"bytes"
	"fmt"
	"strings"
)

// ignorePattern is one parsed line of an ignore file.
type ignorePattern struct {
	pat     string // the pattern, without '!', trailing '/' or leading '/'
	negate  bool   // line began with '!'
	dirOnly bool   // line ended with '/': matches directories only
	base    bool   // no '/' inside: matched against the basename at any depth
	// Fast paths for base patterns: literal name, or "*" + literal suffix.
	literal bool
	suffix  string // non-empty for "*.ext"-style patterns
}

// List is the patterns of one file, and the directory (relative to
// the top of the working tree, "" for the top, else ending in '/') that its
// non-base patterns are anchored to.
type List struct {
	dir      string
	patterns []ignorePattern
}

// Parse parses the content of an ignore file whose patterns are
// anchored at dir ("" or "a/b/").
func Parse(dir string, content []byte) *List {
	l := &List{dir: dir}
	content = bytes.TrimPrefix(content, []byte("\xef\xbb\xbf"))
	for len(content) > 0 {
		var line []byte
		if i := bytes.IndexByte(content, '\n'); i >= 0 {
			line, content = content[:i], content[i+1:]
		} else {
			line, content = content, nil
		}
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		line = bytes.TrimSuffix(line, []byte("\r"))
		if p, ok := parsePattern(trimTrailingSpaces(string(line))); ok {
			l.patterns = append(l.patterns, p)
		}
	}
	return l
}

// trimTrailingSpaces removes unescaped trailing spaces (only ' ', as git).
func trimTrailingSpaces(s string) string {
	end := -1 // index of the first space of the current trailing run
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case ' ':
			if end < 0 {
				end = i
			}
		case '\\':
			i++
			if i >= len(s) {
				return s
			}
			end = -1
		default:
			end = -1
		}
	}
	if end >= 0 {
		return s[:end]
	}
	return s
}

func parsePattern(s string) (ignorePattern, bool) {
	var p ignorePattern
	if strings.HasPrefix(s, "!") {
		p.negate = true
		s = s[1:]
	}
	if strings.HasSuffix(s, "/") {
		p.dirOnly = true
		s = s[:len(s)-1]
	}
	if s == "" {
		return p, false
	}
	if !strings.Contains(s, "/") {
		p.base = true
	} else {
		s = strings.TrimPrefix(s, "/")
	}
	p.pat = s
	if p.base {
		if !hasGlobSpecial(s) {
			p.literal = true
		} else if s[0] == '*' && !hasGlobSpecial(s[1:]) {
			p.suffix = s[1:]
		}
	}
	return p, true
}

func hasGlobSpecial(s string) bool {
	return strings.ContainsAny(s, "*?[\\")
}

// match reports whether p matches path (relative to the top of the working
// tree) whose last element is name, anchored at dir.
func (p *ignorePattern) match(dir, path, name string, isDir bool) bool {
	if p.dirOnly && !isDir {
		return false
	}
	if p.base {
		switch {
		case p.literal:
			return name == p.pat
		case p.suffix != "":
			return strings.HasSuffix(name, p.suffix)
		default:
			return wildmatch(p.pat, name)
		}
	}
	rel, ok := strings.CutPrefix(path, dir)
	if !ok {
		return false
	}
	return wildmatch(p.pat, rel)
}

// decide returns whether the last pattern of l that matches excludes
// (+1) or re-includes (-1) the path, or 0 when none matches.
func (l *List) decide(path, name string, isDir bool) int {
	for i := len(l.patterns) - 1; i >= 0; i-- {
		p := &l.patterns[i]
		if p.match(l.dir, path, name, isDir) {
			if p.negate {
				return -1
			}
			return 1
		}
	}
	return 0
}

// Rules is the set of rules in force in one directory: the
// .gitignore lists from the top down to that directory (deepest last),
// then the repository-wide lists (info/exclude first, core.excludesFile
// last: earlier ones win).
type Rules struct {
	dirs   []*List
	Global []*List
}

// Excluded reports whether path (whose basename is name) is ignored. It does
// not consider whether a parent directory is ignored: the walk never looks
// inside an ignored directory for untracked files.
func (r *Rules) Excluded(path, name string, isDir bool) bool {
	for i := len(r.dirs) - 1; i >= 0; i-- {
		if d := r.dirs[i].decide(path, name, isDir); d != 0 {
			return d > 0
		}
	}
	for _, l := range r.Global {
		if d := l.decide(path, name, isDir); d != 0 {
			return d > 0
		}
	}
	return false
}

// With returns the rules of a subdirectory whose .gitignore is l (nil: none).
func (r *Rules) With(l *List) *Rules {
	if l == nil || len(l.patterns) == 0 {
		return r
	}
	dirs := make([]*List, len(r.dirs), len(r.dirs)+1)
	copy(dirs, r.dirs)
	return &Rules{dirs: append(dirs, l), Global: r.Global}
}

// wildmatch matches text against a git wildmatch pattern with WM_PATHNAME:
// '*' and '?' and brackets never match '/', "**" between slashes (or at
// either end) matches any number of directories.
func wildmatch(pattern, text string) bool {
	return wild(pattern, 0, text) == wmMatch
}

const (
	wmNoMatch           = iota
	wmMatch             //
	wmAbortAll          // no later start position of an enclosing '*' can match
	wmAbortToDoublestar // only an enclosing "**" may still match
)

// wild matches pat[pi:] against t.
func wild(pat string, pi int, t string) int {
	for pi < len(pat) {
		c := pat[pi]
		if len(t) == 0 && c != '*' {
			return wmAbortAll
		}
		switch c {
		case '\\':
			if pi+1 >= len(pat) || t[0] != pat[pi+1] {
				return wmNoMatch // a trailing backslash matches nothing
			}
			pi, t = pi+2, t[1:]
		case '?':
			if t[0] == '/' {
				return wmNoMatch
			}
			pi, t = pi+1, t[1:]
		case '[':
			ok, next, valid := matchBracket(pat, pi, t[0])
			if !valid {
				return wmAbortAll
			}
			if !ok || t[0] == '/' {
				return wmNoMatch
			}
			pi, t = next, t[1:]
		case '*':
			return star(pat, pi, t)
		default:
			if t[0] != c {
				return wmNoMatch
			}
			pi, t = pi+1, t[1:]
		}
	}
	if len(t) == 0 {
		return wmMatch
	}
	return wmNoMatch
}

// star matches pat[pi:], which begins with '*', against t.
func star(pat string, pi int, t string) int {
	start := pi
	for pi < len(pat) && pat[pi] == '*' {
		pi++
	}
	matchSlash := false
	if pi-start >= 2 && (start == 0 || pat[start-1] == '/') &&
		(pi == len(pat) || pat[pi] == '/' || strings.HasPrefix(pat[pi:], "\\/")) {
		if pi < len(pat) && pat[pi] == '/' && wild(pat, pi+1, t) == wmMatch {
			return wmMatch // "**/" standing for no directory at all
		}
		matchSlash = true
	}
	if pi == len(pat) {
		if !matchSlash && strings.IndexByte(t, '/') >= 0 {
			return wmNoMatch
		}
		return wmMatch
	}
	if !matchSlash && pat[pi] == '/' {
		// One '*' then '/': the rest of this path segment, then go on.
		i := strings.IndexByte(t, '/')
		if i < 0 {
			return wmNoMatch
		}
		return wild(pat, pi+1, t[i+1:])
	}
	next := pat[pi]
	for len(t) > 0 {
		if !strings.ContainsRune("*?[\\", rune(next)) {
			// What '*' swallows ends right before the next occurrence of
			// the literal that follows it.
			i := 0
			for i < len(t) && t[i] != next && (matchSlash || t[i] != '/') {
				i++
			}
			if i == len(t) || t[i] != next {
				return wmNoMatch
			}
			t = t[i:]
		}
		m := wild(pat, pi, t)
		if m != wmNoMatch {
			if !matchSlash || m != wmAbortToDoublestar {
				return m
			}
		} else if !matchSlash && t[0] == '/' {
			return wmAbortToDoublestar
		}
		t = t[1:]
	}
	return wmAbortAll
}

// matchBracket matches c against the bracket expression at pat[pi] ('[').
// It returns whether c is in the set, the index after the closing ']', and
// false for valid when the expression is not closed (the pattern then
// matches nothing).
func matchBracket(pat string, pi int, c byte) (ok bool, next int, valid bool) {
	i := pi + 1
	negate := false
	if i < len(pat) && (pat[i] == '!' || pat[i] == '^') {
		negate = true
		i++
	}
	first := true
	var prev int = -1 // previous literal byte, for ranges
	for ; i < len(pat); i++ {
		b := pat[i]
		switch {
		case b == ']' && !first:
			return ok != negate, i + 1, true
		case b == '\\':
			i++
			if i >= len(pat) {
				return false, 0, false
			}
			b = pat[i]
			if b == c {
				ok = true
			}
			prev = int(b)
		case b == '-' && prev >= 0 && i+1 < len(pat) && pat[i+1] != ']':
			i++
			hi := pat[i]
			if hi == '\\' {
				i++
				if i >= len(pat) {
					return false, 0, false
				}
				hi = pat[i]
			}
			if c <= hi && c >= byte(prev) {
				ok = true
			}
			prev = -1
		case b == '[' && i+1 < len(pat) && pat[i+1] == ':':
			end := strings.Index(pat[i+2:], ":]")
			if end < 0 {
				// Not a class: a literal '['.
				if c == '[' {
					ok = true
				}
				prev = int(b)
				break
			}
			class := pat[i+2 : i+2+end]
			m, known := matchClass(class, c)
			if !known {
				return false, 0, false // git treats an unknown class as a malformed pattern
			}
			if m {
				ok = true
			}
			i += 2 + end + 1
			prev = -1
		default:
			if b == c {
				ok = true
			}
			prev = int(b)
		}
		first = false
	}
	return false, 0, false
}

func matchClass(class string, c byte) (match, known bool) {
	isUpper := c >= 'A' && c <= 'Z'
	isLower := c >= 'a' && c <= 'z'
	isDigit := c >= '0' && c <= '9'
	switch class {
	case "alnum":
		return isUpper || isLower || isDigit, true
	case "alpha":
		return isUpper || isLower, true
	case "blank":
		return c == ' ' || c == '\t', true
	case "cntrl":
		return c < 32 || c == 127, true
	case "digit":
		return isDigit, true
	case "graph":
		return c > 32 && c < 127, true
	case "lower":
		return isLower, true
	case "print":
		return c >= 32 && c < 127, true
	case "punct":
		return c > 32 && c < 127 && !isUpper && !isLower && !isDigit, true
	case "space":
		return c == ' ' || (c >= '\t' && c <= '\r'), true
	case "upper":
		return isUpper, true
	case "xdigit":
		return isDigit || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'), true
	}
	return false, false
}

// AddGlobal appends a repository-wide list (info/exclude, then
// core.excludesFile: earlier ones win); an empty one is dropped.
func (r *Rules) AddGlobal(l *List) {
	if len(l.patterns) > 0 {
		r.Global = append(r.Global, l)
	}
}

// GlobalKey identifies the content of the repository-wide lists: equal
// keys, same rules.
func (r *Rules) GlobalKey() string {
	var b strings.Builder
	for _, l := range r.Global {
		fmt.Fprintf(&b, "%v;", l.patterns)
	}
	return b.String()
}
