package patch

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/factory-dev/factory"
	"github.com/factory-dev/factory/sandbox/patch/hunks"
)

// The pre-pass reads the patch line by line before go-gitdiff does. It
// splits the text into one segment per file (so each go-gitdiff File maps to
// exactly one segment and its line numbers), rewrites hunk headers whose
// counts disagree with their bodies, and rewrites git headers written
// without a/ b/ prefixes (git diff --no-prefix) into prefixed form, which is
// the only form go-gitdiff reads correctly. Rewrites never add or remove
// lines, so every line number stays a line number of the caller's patch.

// maxHeaderNumber bounds the numbers of a hunk header: larger values are
// refused as corrupt rather than searched for.
const maxHeaderNumber = 1 << 30

// segment is one file's part of the patch.
type segment struct {
	start, end int // line indexes (0-based) into the patch lines, end exclusive
	git        bool
	noPrefix   bool     // git header written without a/ b/ prefixes; rewritten
	rawOld     string   // name on the --- line (unquoted, timestamp removed), "" if none
	rawNew     string   // name on the +++ line
	movedFrom  string   // rename from / copy from name (never prefixed), "" if none
	movedTo    string   // rename to / copy to name
	hunks      []hunkAt // in order
}

// hunkAt is a hunk header found by the pre-pass.
type hunkAt struct {
	line      int    // 1-based patch line of the header
	header    string // the header as the patch wrote it, without newline
	recounted bool
	fixed     string // the rewritten header, when recounted
}

// prepass holds the result of the pre-pass.
type prepass struct {
	lines    []string // patch lines with their "\n"; hunk and git headers rewritten
	segments []*segment
	notes    []string
}

func isNoNewlineMarker(l string) bool { return len(l) >= 12 && l[0] == '\\' && l[1] == ' ' }

// isBodyLine reports whether l may belong to a hunk body.
func isBodyLine(l string) bool {
	if l == "" {
		return false
	}
	switch l[0] {
	case ' ', '+', '-', '\n':
		return true
	case '\\':
		return isNoNewlineMarker(l)
	}
	return false
}

// isTraditionalHeader mirrors go-gitdiff: "--- ", "+++ " and a probable hunk
// header on the third line.
func isTraditionalHeader(lines []string, i int) bool {
	return i+2 < len(lines) && strings.HasPrefix(lines[i], "--- ") &&
		strings.HasPrefix(lines[i+1], "+++ ") &&
		strings.HasPrefix(lines[i+2], "@@ -") && len(lines[i+2]) >= len("@@ -1 +1 @@\n")
}

// isHeaderAt reports whether a file or hunk header starts at line i.
func isHeaderAt(lines []string, i int) bool {
	l := lines[i]
	return strings.HasPrefix(l, "diff ") || strings.HasPrefix(l, "@@ -") || isTraditionalHeader(lines, i)
}

// gitHeaderPrefixes are the extended header lines go-gitdiff reads after
// "diff --git" (parseGitHeaderData).
var gitHeaderPrefixes = []string{
	"--- ", "+++ ", "old mode ", "new mode ", "deleted file mode ", "new file mode ",
	"copy from ", "copy to ", "rename old ", "rename new ", "rename from ", "rename to ",
	"similarity index ", "dissimilarity index ", "index ",
}

func isGitHeaderLine(l string) bool {
	for _, p := range gitHeaderPrefixes {
		if strings.HasPrefix(l, p) {
			return true
		}
	}
	return false
}

// hunkHeader is a parsed "@@ -a,b +c,d @@ rest" line.
type hunkHeader struct {
	oldPos, oldN, newPos, newN int
	rest                       string // after " @@", newline removed
}

// parseHunkHeader parses l. ok is false when l is not a well-formed header;
// err is set when it is well-formed but a number is out of range.
func parseHunkHeader(l string) (h hunkHeader, ok bool, err error) {
	l = strings.TrimSuffix(l, "\n")
	if !strings.HasPrefix(l, "@@ -") {
		return h, false, nil
	}
	body, rest, found := strings.Cut(l[len("@@ -"):], " @@")
	if !found {
		return h, false, nil
	}
	h.rest = rest
	o, n, found := strings.Cut(body, " +")
	if !found {
		return h, false, nil
	}
	parse := func(s string) (pos, cnt int, ok bool, err error) {
		p, c, hasCount := strings.Cut(s, ",")
		pos, ok, err = parseHeaderNumber(p)
		if !ok || err != nil {
			return 0, 0, ok, err
		}
		cnt = 1
		if hasCount {
			cnt, ok, err = parseHeaderNumber(c)
		}
		return pos, cnt, ok, err
	}
	if h.oldPos, h.oldN, ok, err = parse(o); !ok || err != nil {
		return h, ok, err
	}
	h.newPos, h.newN, ok, err = parse(n)
	return h, ok, err
}

func parseHeaderNumber(s string) (int, bool, error) {
	if s == "" {
		return 0, false, nil
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false, nil
		}
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil || v > maxHeaderNumber {
		return 0, true, fmt.Errorf("number %s in hunk header is out of range (at most %d)", s, maxHeaderNumber)
	}
	return int(v), true, nil
}

// runPrepass splits text (already LF-normalised and newline-terminated) into
// segments and repairs hunk headers. It returns an EINVALID error for a
// header whose numbers are out of range and for a hunk body broken by a line
// that is not a diff line.
func runPrepass(text string) (*prepass, error) {
	pp := &prepass{lines: hunks.SplitLines(text)}
	lines := pp.lines
	var cur *segment
	closeSeg := func(i int) {
		if cur != nil {
			cur.end = i
			pp.segments = append(pp.segments, cur)
			cur = nil
		}
	}
	for i := 0; i < len(lines); {
		l := lines[i]
		switch {
		case strings.HasPrefix(l, "diff --git "):
			closeSeg(i)
			cur = &segment{start: i, git: true}
			i++
			hdrStart := i
			for i < len(lines) && isGitHeaderLine(lines[i]) {
				i++
			}
			readGitNames(cur, lines, hdrStart, i)
		case isTraditionalHeader(lines, i):
			closeSeg(i)
			cur = &segment{start: i}
			cur.rawOld = headerName(lines[i][4:])
			cur.rawNew = headerName(lines[i+1][4:])
			i += 2
		case strings.HasPrefix(l, "@@") && cur != nil:
			next, err := pp.hunk(cur, i)
			if err != nil {
				return nil, err
			}
			i = next
		default:
			i++
		}
	}
	closeSeg(len(lines))
	for _, s := range pp.segments {
		if s.git {
			pp.fixNoPrefix(s)
		}
	}
	return pp, nil
}

// hunk reads the hunk whose header is at line i and returns the index of the
// first line after its body, rewriting the header when its counts are wrong.
func (pp *prepass) hunk(seg *segment, i int) (int, error) {
	lines := pp.lines
	h, ok, err := parseHunkHeader(lines[i])
	if err != nil {
		return 0, factory.Errorf(factory.EINVALID, "patch line %d: %v", i+1, err)
	}
	if !ok {
		return 0, factory.Errorf(factory.EINVALID,
			"patch line %d: hunk header %q is malformed; write it as @@ -start,count +start,count @@ (line numbers of the old and new file)",
			i+1, strings.TrimSuffix(lines[i], "\n"))
	}
	ha := hunkAt{line: i + 1, header: strings.TrimSuffix(lines[i], "\n")}
	if j, ok := countedBody(lines, i, h); ok {
		seg.hunks = append(seg.hunks, ha)
		return j, nil
	}
	end, err := recountedBody(lines, i)
	if err != nil {
		return 0, err
	}
	oldN, newN := countBody(lines[i+1 : end])
	if oldN == h.oldN && newN == h.newN {
		// Counts agree with the body yet the walk failed: leave the
		// diagnosis to go-gitdiff.
		seg.hunks = append(seg.hunks, ha)
		return end, nil
	}
	fixed := h.recounted(oldN, newN)
	lines[i] = fixed + "\n"
	ha.recounted = true
	ha.fixed = fixed
	seg.hunks = append(seg.hunks, ha)
	return end, nil
}

// countedBody walks the body of the hunk at line i as the header's counts
// say, as git and go-gitdiff do, and returns the index of the first line
// after it. ok is false when the body does not match the counts, including
// when body lines follow the counted body (the counts were too small, and
// go-gitdiff would silently drop those lines).
func countedBody(lines []string, i int, h hunkHeader) (int, bool) {
	j, o, n := i+1, h.oldN, h.newN
	for o > 0 || n > 0 {
		if j >= len(lines) {
			return 0, false
		}
		switch lines[j][0] {
		case ' ', '\n':
			o--
			n--
		case '-':
			o--
		case '+':
			n--
		case '\\':
			if !isNoNewlineMarker(lines[j]) {
				return 0, false
			}
		default:
			return 0, false
		}
		if o < 0 || n < 0 {
			return 0, false
		}
		j++
	}
	if j < len(lines) && isNoNewlineMarker(lines[j]) {
		j++
	}
	k := j
	for k < len(lines) && lines[k] == "\n" {
		k++
	}
	if k < len(lines) && isBodyLine(lines[k]) && !isHeaderAt(lines, k) && !isSignature(lines, k) {
		return 0, false
	}
	return j, true
}

// recountedBody finds the body of the hunk at line i without its counts:
// every following diff line up to the next header, trailing blank lines
// left out. It returns the index of the first line after the body, or
// EINVALID for a body broken by a line that is not a diff line.
func recountedBody(lines []string, i int) (int, error) {
	j := i + 1
	for j < len(lines) {
		if isHeaderAt(lines, j) || isSignature(lines, j) || !isBodyLine(lines[j]) {
			break
		}
		j++
	}
	end := j
	for end > i+1 && lines[end-1] == "\n" {
		end--
	}
	if j < len(lines) && !isHeaderAt(lines, j) && j+1 < len(lines) &&
		isBodyLine(lines[j+1]) && lines[j+1] != "\n" && !isSignature(lines, j) {
		return 0, factory.Errorf(factory.EINVALID,
			"patch line %d: line %q inside a hunk does not start with ' ', '+' or '-' (context lines need a leading space)",
			j+1, strings.TrimSuffix(lines[j], "\n"))
	}
	return end, nil
}

// countBody counts the old and new lines of a hunk body.
func countBody(body []string) (oldN, newN int) {
	for _, l := range body {
		switch l[0] {
		case ' ', '\n':
			oldN++
			newN++
		case '-':
			oldN++
		case '+':
			newN++
		}
	}
	return oldN, newN
}

// recounted is h rewritten with the counts of its body; a side that becomes
// empty (or stops being empty) moves its start by one, as diff writes it.
func (h hunkHeader) recounted(oldN, newN int) string {
	oldPos, newPos := h.oldPos, h.newPos
	if h.oldN > 0 && oldN == 0 && oldPos > 0 {
		oldPos--
	} else if h.oldN == 0 && oldN > 0 {
		oldPos++
	}
	if h.newN > 0 && newN == 0 && newPos > 0 {
		newPos--
	} else if h.newN == 0 && newN > 0 {
		newPos++
	}
	return fmt.Sprintf("@@ -%d,%d +%d,%d @@%s", oldPos, oldN, newPos, newN, h.rest)
}

// isSignature reports whether line i is the "-- " line that starts an email
// signature (git format-patch), not a removed line.
func isSignature(lines []string, i int) bool {
	return lines[i] == "-- \n" && (i+1 >= len(lines) || !isBodyLine(lines[i+1]) || lines[i+1] == "\n")
}

// headerName reads the name on a ---/+++ line (after the marker): a C-quoted
// name, or everything up to a tab (traditional diffs put a timestamp there).
func headerName(s string) string {
	s = strings.TrimSuffix(s, "\n")
	if strings.HasPrefix(s, `"`) {
		if name, _, ok := readQuoted(s); ok {
			return name
		}
		return s
	}
	if i := strings.IndexByte(s, '\t'); i >= 0 {
		s = s[:i]
	}
	return s
}

// readQuoted reads a C-style quoted name at the start of s and returns it,
// the number of bytes read and whether it was well-formed.
func readQuoted(s string) (string, int, bool) {
	for n := 1; n < len(s); n++ {
		if s[n] == '\\' {
			n++
			continue
		}
		if s[n] == '"' {
			name, err := strconv.Unquote(s[:n+1])
			return name, n + 1, err == nil
		}
	}
	return "", 0, false
}

// readGitNames records the ---/+++ names of a git header.
func readGitNames(seg *segment, lines []string, from, to int) {
	for _, l := range lines[from:to] {
		switch {
		case strings.HasPrefix(l, "--- "):
			seg.rawOld = headerName(l[4:])
		case strings.HasPrefix(l, "+++ "):
			seg.rawNew = headerName(l[4:])
		case strings.HasPrefix(l, "rename from "), strings.HasPrefix(l, "copy from "):
			_, v, _ := strings.Cut(l, " from ")
			seg.movedFrom = headerName(v)
		case strings.HasPrefix(l, "rename to "), strings.HasPrefix(l, "copy to "):
			_, v, _ := strings.Cut(l, " to ")
			seg.movedTo = headerName(v)
		}
	}
}

// gitLineNames splits the names of a "diff --git A B" line. ok is false when
// the split is ambiguous (unquoted names with spaces that differ).
func gitLineNames(l string) (a, b string, ok bool) {
	s := strings.TrimSuffix(strings.TrimPrefix(l, "diff --git "), "\n")
	if strings.HasPrefix(s, `"`) {
		a, n, ok := readQuoted(s)
		if !ok || n >= len(s) || s[n] != ' ' {
			return "", "", false
		}
		rest := s[n+1:]
		if strings.HasPrefix(rest, `"`) {
			b, _, ok = readQuoted(rest)
			return a, b, ok
		}
		return a, rest, true
	}
	if q := strings.Index(s, ` "`); q >= 0 {
		b, _, ok := readQuoted(s[q+1:])
		return s[:q], b, ok
	}
	if strings.Count(s, " ") == 1 {
		a, b, _ = strings.Cut(s, " ")
		return a, b, true
	}
	for i := 0; i < len(s); i++ {
		if s[i] == ' ' && s[:i] == s[i+1:] {
			return s[:i], s[i+1:], true
		}
	}
	for i := 0; i < len(s); i++ {
		if s[i] == ' ' && strings.HasPrefix(s[:i], "a/") && strings.HasPrefix(s[i+1:], "b/") && s[2:i] == s[i+3:] {
			return s[:i], s[i+1:], true
		}
	}
	return "", "", false
}

func firstComponent(p string) (string, bool) {
	i := strings.IndexByte(p, '/')
	if i < 0 {
		return "", false
	}
	return p[:i], true
}

// isPrefixed decides whether a pair of header names carries a/ b/ style
// prefixes: both have a first directory, and either they are a/ and b/ or
// the first directories differ (mnemonic prefixes such as i/ w/). Equal
// first directories mean names written as is (git diff --no-prefix).
func isPrefixed(a, b string) bool {
	fa, oka := firstComponent(a)
	fb, okb := firstComponent(b)
	switch {
	case a == "/dev/null":
		return okb && fb == "b"
	case b == "/dev/null":
		return oka && fa == "a"
	case !oka || !okb:
		return false
	case fa == "a" && fb == "b":
		return true
	}
	return fa != fb
}

// fixNoPrefix detects a git header written without prefixes and rewrites
// its diff --git, --- and +++ lines with a/ and b/ so go-gitdiff strips
// exactly those.
func (pp *prepass) fixNoPrefix(seg *segment) {
	lines := pp.lines
	a, b, ok := gitLineNames(lines[seg.start])
	switch {
	case ok && seg.movedFrom != "" && seg.movedTo != "":
		// A rename or copy names its paths unprefixed: the header is
		// unprefixed when its names are exactly those.
		seg.noPrefix = a == seg.movedFrom && b == seg.movedTo
	case ok:
		seg.noPrefix = !isPrefixed(a, b)
	case seg.rawOld != "" || seg.rawNew != "":
		seg.noPrefix = !isPrefixed(seg.rawOld, seg.rawNew)
	}
	if !seg.noPrefix {
		return
	}
	if ok {
		lines[seg.start] = "diff --git " + addPrefix("a/", a) + " " + addPrefix("b/", b) + "\n"
	}
	for i := seg.start + 1; i < seg.end && isGitHeaderLine(lines[i]); i++ {
		switch l := strings.TrimSuffix(lines[i], "\n"); {
		case strings.HasPrefix(l, "--- ") && headerName(l[4:]) != "/dev/null":
			lines[i] = "--- " + addPrefix("a/", headerName(l[4:])) + "\n"
		case strings.HasPrefix(l, "+++ ") && headerName(l[4:]) != "/dev/null":
			lines[i] = "+++ " + addPrefix("b/", headerName(l[4:])) + "\n"
		}
	}
}

// addPrefix prepends prefix to name, quoting the result when name needs it.
func addPrefix(prefix, name string) string {
	p := prefix + name
	if needsQuote(p) {
		return strconv.Quote(p)
	}
	return p
}

func needsQuote(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= 0x7f {
			return true
		}
	}
	return strings.HasPrefix(s, " ") || strings.HasSuffix(s, " ")
}
