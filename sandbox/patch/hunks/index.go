package hunks

import "strings"

// The hunk search must stay near-linear whatever the patch: a naive scan
// costs lines × context, which a hunk with thousands of repeated context
// lines turns into minutes while the apply lock is held. So the search
// first scans the few positions around the expected line under a small
// budget of line comparisons (the common case: the hunk is where its
// header says, or a few lines off), and past that budget it numbers every
// distinct line once and runs Knuth-Morris-Pratt over the numbers, which
// finds every exact match in O(lines + context).

// scanBudget is how many line comparisons the plain scan may spend before
// the search switches to the index: enough for any hunk found near its line.
func scanBudget(context int) int { return 4096 + 4*context }

// lineKey is a line as sameLine compares it: "\r\n" counts as "\n", and a
// last line without newline differs from the same text with one. Lines
// ending in "\n" keep their own string (no allocation).
func lineKey(l string) string {
	if strings.HasSuffix(l, "\r\n") {
		return l[:len(l)-2] + "\n"
	}
	return l
}

// lineIndex numbers lines by key: equal numbers mean equal lines.
type lineIndex struct {
	ids map[string]int32
	key func(string) string
}

func newLineIndex(key func(string) string, sizeHint int) *lineIndex {
	return &lineIndex{ids: make(map[string]int32, sizeHint), key: key}
}

// number returns the id of each line, giving new lines new ids.
func (x *lineIndex) number(lines []string) []int32 {
	out := make([]int32, len(lines))
	for i, l := range lines {
		k := x.key(l)
		id, ok := x.ids[k]
		if !ok {
			id = int32(len(x.ids))
			x.ids[k] = id
		}
		out[i] = id
	}
	return out
}

// lookup returns the ids of lines, or ok false when one of them is in no
// numbered line (so they match nowhere).
func (x *lineIndex) lookup(lines []string) (ids []int32, ok bool) {
	ids = make([]int32, len(lines))
	for i, l := range lines {
		id, found := x.ids[x.key(l)]
		if !found {
			return nil, false
		}
		ids[i] = id
	}
	return ids, true
}

// nearestOccurrence returns the start of the occurrence of pat in text
// nearest to want (clamped to the valid starts; on a tie the later one, as
// the scan order want, want+1, want-1... gives), or -1. O(len(text) +
// len(pat)) by Knuth-Morris-Pratt.
func nearestOccurrence(text, pat []int32, want int) int {
	m, last := len(pat), len(text)-len(pat)
	if last < 0 {
		return -1
	}
	want = max(0, min(want, last))
	if m == 0 {
		return want
	}
	fail := make([]int, m)
	for i, k := 1, 0; i < m; i++ {
		for k > 0 && pat[i] != pat[k] {
			k = fail[k-1]
		}
		if pat[i] == pat[k] {
			k++
		}
		fail[i] = k
	}
	best, bestDist := -1, 0
	for i, k := 0, 0; i < len(text); i++ {
		for k > 0 && text[i] != pat[k] {
			k = fail[k-1]
		}
		if text[i] == pat[k] {
			k++
		}
		if k < m {
			continue
		}
		p := i - m + 1
		d := p - want
		if d < 0 {
			d = -d
		}
		if best < 0 || d <= bestDist {
			best, bestDist = p, d
		}
		if p > want {
			break // later matches are only farther
		}
		k = fail[k-1]
	}
	return best
}

// findNearest returns the position nearest to want where old matches img
// exactly, trying want, want+1, want-1, want+2... (as git apply does), or
// -1. numbered, when the budget runs out, gives the index and img's ids.
func findNearest(img []string, want int, old []string, numbered func() (*lineIndex, []int32)) int {
	last := len(img) - len(old)
	if last < 0 {
		return -1
	}
	want = max(0, min(want, last))
	budget := scanBudget(len(old))
	for d := 0; want+d <= last || want-d >= 0; d++ {
		for j, p := range [2]int{want + d, want - d} {
			if p < 0 || p > last || (j == 1 && d == 0) {
				continue
			}
			n := matchLen(img, p, old)
			if n == len(old) {
				return p
			}
			if budget -= n + 1; budget < 0 {
				x, ids := numbered()
				pat, ok := x.lookup(old)
				if !ok {
					return -1
				}
				return nearestOccurrence(ids, pat, want)
			}
		}
	}
	return -1
}

// matchLen is how many leading lines of old match img at p (p valid).
func matchLen(img []string, p int, old []string) int {
	for i, l := range old {
		if !sameLine(img[p+i], l) {
			return i
		}
	}
	return len(old)
}
