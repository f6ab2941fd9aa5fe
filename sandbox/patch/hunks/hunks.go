// Package hunks places the text hunks of one file section of a unified
// diff in the file's content: in one pass where each hunk sits at its own
// line (Exact), else line by line at the nearest exact offset, with fuzz
// when asked, and with a conflict report for a hunk that fits nowhere.
//
// It imports the root package factory, the standard library and go-gitdiff
// only.
package hunks

import (
	"fmt"
	"strings"
	"unsafe"

	"github.com/bluekeyes/go-gitdiff/gitdiff"
	"github.com/factory-dev/factory"
)

// maxShown caps the expected and actual lines in a conflict.
const maxShown = 20

// lineKey compares lines the way the applier does: the text without its
// line ending ("\n" or "\r\n"), plus whether it had one at all, so LF patches
// match CRLF files and "\ No newline at end of file" is honoured.
func sameLine(fileLine, patchLine string) bool {
	fe := strings.HasSuffix(fileLine, "\n")
	if fe != strings.HasSuffix(patchLine, "\n") {
		return false
	}
	if fe {
		fileLine = strings.TrimSuffix(fileLine[:len(fileLine)-1], "\r")
		patchLine = strings.TrimSuffix(patchLine[:len(patchLine)-1], "\r")
	}
	return fileLine == patchLine
}

// sameText compares ignoring line endings entirely (for diagnostics).
func sameText(a, b string) bool {
	return strings.TrimRight(a, "\r\n") == strings.TrimRight(b, "\r\n")
}

func matchAt(img []string, p int, old []string) bool {
	if p < 0 || p+len(old) > len(img) {
		return false
	}
	for i, l := range old {
		if !sameLine(img[p+i], l) {
			return false
		}
	}
	return true
}

// hunkResult is the outcome of one hunk.
type hunkResult struct {
	pos    int // where it applied (0-based), -1 if it did not
	offset int
	fuzz   int
}

// textApplier applies the hunks of one file to its lines.
type textApplier struct {
	img   []string
	index *lineIndex // numbers of img's lines, built when a search needs it
	ids   []int32    // img's line numbers while index is set
	crlf  bool       // the original file is CRLF throughout: added LF lines become CRLF
	delta int        // lines added minus removed by earlier hunks
	fuzz  int        // largest fuzz allowed
}

// newTextApplier splits data, which must not change while the applier's
// lines are used, without copying it: the file contents read are never
// written to.
func newTextApplier(data []byte, fuzz int) *textApplier {
	s := unsafe.String(unsafe.SliceData(data), len(data))
	return &textApplier{img: SplitLines(s), crlf: IsCRLF(s), fuzz: fuzz}
}

func (a *textApplier) bytes() []byte {
	n := 0
	for _, l := range a.img {
		n += len(l)
	}
	b := make([]byte, 0, n)
	for _, l := range a.img {
		b = append(b, l...)
	}
	return b
}

// apply tries one fragment; on failure it returns a conflict.
func (a *textApplier) apply(file string, k int, hdr string, frag *gitdiff.TextFragment) (hunkResult, *factory.HunkConflict) {
	var old []string
	for _, l := range frag.Lines {
		if l.Old() {
			old = append(old, l.Line)
		}
	}
	want := int(frag.OldPosition) - 1 + a.delta
	if frag.OldLines == 0 {
		want = int(frag.OldPosition) + a.delta
	}
	want = max(0, min(want, len(a.img)))
	newCount := int(frag.NewLines)
	defer func() { a.delta += newCount - len(old) }()

	// Hunks git anchors: starting at line 0 or 1 means the start of the
	// file, no trailing context means its end. Tried first, like git;
	// then the nearest exact match anywhere.
	pos := -1
	beginning := frag.OldPosition <= 1
	end := frag.TrailingContext == 0
	if len(old) > 0 && (beginning || end) {
		p := want
		if beginning {
			p = 0
		} else {
			p = len(a.img) - len(old)
		}
		if (!beginning || !end || len(old) == len(a.img)) && matchAt(a.img, p, old) {
			pos = p
		}
	}
	if pos < 0 {
		if len(old) == 0 {
			pos = want
		} else {
			pos = findNearest(a.img, want, old, a.numbered)
		}
	}
	if pos >= 0 {
		a.splice(pos, frag.Lines, 0, 0)
		return hunkResult{pos: pos, offset: pos - want}, nil
	}
	// Fuzz: drop up to n context lines at each end, only when asked.
	lead, trail := int(frag.LeadingContext), int(frag.TrailingContext)
	for fz := 1; fz <= a.fuzz; fz++ {
		dl, dt := min(fz, lead), min(fz, trail)
		if dl == 0 && dt == 0 {
			continue
		}
		if dl+dt >= len(old) {
			break
		}
		sub := old[dl : len(old)-dt]
		if p := findNearest(a.img, want+dl, sub, a.numbered); p >= 0 {
			a.splice(p, frag.Lines, dl, dt)
			return hunkResult{pos: p, offset: p - dl - want, fuzz: fz}, nil
		}
	}
	return hunkResult{pos: -1}, a.conflict(file, k, hdr, want, old)
}

// splice replaces the matched old lines at pos by the fragment's new lines,
// skipping dl leading and dt trailing context lines (fuzz). Context lines are
// taken from the file, added lines get the file's line ending.
func (a *textApplier) splice(pos int, lines []gitdiff.Line, dl, dt int) {
	lines = lines[dl : len(lines)-dt]
	var repl []string
	nOld := 0
	for _, l := range lines {
		switch l.Op {
		case gitdiff.OpContext:
			repl = append(repl, a.img[pos+nOld])
			nOld++
		case gitdiff.OpDelete:
			nOld++
		case gitdiff.OpAdd:
			s := l.Line
			if a.crlf && strings.HasSuffix(s, "\n") && !strings.HasSuffix(s, "\r\n") {
				s = s[:len(s)-1] + "\r\n"
			}
			repl = append(repl, s)
		}
	}
	if a.index != nil {
		a.ids = spliceLines(a.ids, pos, nOld, a.index.number(repl))
	}
	a.img = spliceLines(a.img, pos, nOld, repl)
}

// numbered returns the line index of the image, building it on first use.
func (a *textApplier) numbered() (*lineIndex, []int32) {
	if a.index == nil {
		a.index = newLineIndex(lineKey, len(a.img))
		a.ids = a.index.number(a.img)
	}
	return a.index, a.ids
}

// spliceLines replaces s[pos:pos+n] by repl, in place when the length
// stays the same.
func spliceLines[T any](s []T, pos, n int, repl []T) []T {
	if len(repl) == n {
		copy(s[pos:], repl)
		return s
	}
	out := make([]T, 0, len(s)-n+len(repl))
	out = append(out, s[:pos]...)
	out = append(out, repl...)
	return append(out, s[pos+n:]...)
}

// conflict describes a hunk that matched nowhere.
func (a *textApplier) conflict(file string, k int, hdr string, want int, old []string) *factory.HunkConflict {
	c := &factory.HunkConflict{File: file, Hunk: k, Header: hdr, Line: want + 1}
	if len(a.img) == 0 {
		c.Line = 0
	}
	for i, l := range old {
		if i == maxShown {
			break
		}
		c.Expected = append(c.Expected, strings.TrimRight(l, "\r\n"))
	}
	for i := want; i < len(a.img) && i < want+min(len(old), maxShown); i++ {
		c.Actual = append(c.Actual, strings.TrimRight(a.img[i], "\r\n"))
	}
	c.NearestLine, c.NearestMatched = a.nearestPartial(want, old)
	c.Reason = "the hunk's context and removed lines match nowhere in the file"
	if want+len(old) <= len(a.img) {
		ends := true
		for i, l := range old {
			if !sameText(a.img[want+i], l) {
				ends = false
				break
			}
		}
		if ends {
			c.Reason = "the lines match except for the newline at the end of the file: mark a last line without newline with \"\\ No newline at end of file\" exactly as the file is"
		}
	}
	if p := a.findIgnoringSpace(want, old); p >= 0 {
		c.Reason += fmt.Sprintf("; it would match at line %d if whitespace were ignored: copy the file's indentation and spacing exactly", p+1)
	} else if c.NearestMatched > 0 {
		c.Reason += "; the closest place is shown as nearest_line"
	}
	if len(old) > maxShown {
		c.Reason += "; expected and actual show the first 20 lines"
	}
	return c
}

// nearestPartial finds the position where the most lines of old match the
// file, voting by line content (ties go to the position nearest want).
func (a *textApplier) nearestPartial(want int, old []string) (line, matched int) {
	if len(old) == 0 || len(a.img) == 0 {
		return 0, 0
	}
	where := map[string][]int{}
	for i, l := range a.img {
		key := strings.TrimRight(l, "\r\n")
		if len(where[key]) < 1000 {
			where[key] = append(where[key], i)
		}
	}
	votes := map[int]int{}
	for i, l := range old {
		for _, q := range where[strings.TrimRight(l, "\r\n")] {
			if p := q - i; p >= 0 && p+len(old) <= len(a.img)+len(old)-1 {
				votes[p]++
			}
		}
	}
	best, bestDist := -1, 0
	for p, v := range votes {
		d := p - want
		if d < 0 {
			d = -d
		}
		if v > matched || (v == matched && d < bestDist) || (v == matched && d == bestDist && p < best) {
			best, matched, bestDist = p, v, d
		}
	}
	if best < 0 {
		return 0, 0
	}
	return best + 1, matched
}

// findIgnoringSpace finds the nearest place where old matches when runs of
// whitespace are ignored, or -1 (a hint for the agent, never used to apply).
func (a *textApplier) findIgnoringSpace(want int, old []string) int {
	if len(old) == 0 || len(old) > len(a.img) {
		return -1
	}
	norm := func(s string) string { return strings.Join(strings.Fields(s), " ") }
	img := make([]string, len(a.img))
	for i, l := range a.img {
		img[i] = norm(l) + "\n"
	}
	pat := make([]string, len(old))
	for i, l := range old {
		pat[i] = norm(l) + "\n"
	}
	numbered := func() (*lineIndex, []int32) {
		x := newLineIndex(lineKey, len(img))
		return x, x.number(img)
	}
	return findNearest(img, want, pat, numbered)
}

// Result is what a file section's text hunks make of a file.
type Result struct {
	Data      []byte // the new content, nil when a hunk conflicts
	Conflicts []factory.HunkConflict
	Applied   int                  // hunks applied
	Offsets   []factory.HunkOffset // hunks applied away from their line
	Fuzz      int                  // the most context dropped for a hunk
}

// Options says how to report and where to build the result.
type Options struct {
	File   string             // the file's name in conflicts
	Header func(k int) string // hunk k's header as the patch wrote it
	Fuzz   int                // context lines a hunk may drop at each end when it matches nowhere
	Alloc  func(n int) []byte // an empty buffer of capacity n for Exact's result; nil: make
}

// Apply applies f's text hunks to base: Exact when it can, else
// LineByLine.
func Apply(base []byte, f *gitdiff.File, opt Options) Result {
	if out, ok := Exact(base, f, opt.Alloc); ok {
		return Result{Data: out, Applied: len(f.TextFragments)}
	}
	return LineByLine(base, f, opt)
}

// LineByLine applies f's text hunks to base in turn, each at the nearest
// exact match to its line (the ends of the file first for a hunk git
// anchors there), dropping up to fuzz context lines at each end when it
// matches nowhere (opt.Fuzz). base is never written to.
func LineByLine(base []byte, f *gitdiff.File, opt Options) Result {
	var r Result
	a := newTextApplier(base, opt.Fuzz)
	for k, frag := range f.TextFragments {
		h, c := a.apply(opt.File, k+1, opt.Header(k), frag)
		if c != nil {
			r.Conflicts = append(r.Conflicts, *c)
			continue
		}
		r.Applied++
		if h.offset != 0 {
			r.Offsets = append(r.Offsets, factory.HunkOffset{Hunk: k + 1, Offset: h.offset})
		}
		r.Fuzz = max(r.Fuzz, h.fuzz)
	}
	if len(r.Conflicts) == 0 {
		r.Data = a.bytes()
	}
	return r
}
