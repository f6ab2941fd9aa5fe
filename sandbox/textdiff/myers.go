package textdiff

import "bytes"

// Edit is one change of a line diff: lines a[A0:A1] are replaced by
// b[B0:B1]. A pure insertion has A0 == A1, a pure deletion B0 == B1.
type Edit struct{ A0, A1, B0, B1 int }

// SplitLines splits text into lines, each keeping its "\n". A last line
// without "\n" is kept as it is, so "x" and "x\n" are different lines (as in
// git, which then prints "\ No newline at end of file").
func SplitLines(b []byte) [][]byte {
	if len(b) == 0 {
		return nil
	}
	n := bytes.Count(b, []byte{'\n'})
	out := make([][]byte, 0, n+1)
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			out = append(out, b)
			break
		}
		out = append(out, b[:i+1])
		b = b[i+1:]
	}
	return out
}

// Lines returns a minimal line edit script from a to b (Myers' O(ND)
// algorithm in linear space, divide and conquer on the middle snake). A
// minimal script's counts are fixed (deletions = len(a)-LCS, additions =
// len(b)-LCS), which is what `git diff --numstat` reports for any file whose
// diff git does not cut short with its cost heuristic.
func Lines(a, b [][]byte) []Edit {
	// Intern lines as ints so comparisons are cheap.
	ids := make(map[string]int, len(a)+len(b))
	intern := func(ls [][]byte) []int {
		out := make([]int, len(ls))
		for i, l := range ls {
			id, ok := ids[string(l)]
			if !ok {
				id = len(ids)
				ids[string(l)] = id
			}
			out[i] = id
		}
		return out
	}
	d := &myers{a: intern(a), b: intern(b)}
	d.ca = make([]bool, len(a))
	d.cb = make([]bool, len(b))
	n := 2*(len(a)+len(b)) + 4
	d.vf = make([]int, 2*n+1)
	d.vb = make([]int, 2*n+1)
	d.compare(0, len(a), 0, len(b))
	return d.edits()
}

type myers struct {
	a, b   []int
	ca, cb []bool // changed lines of a (deleted) and b (inserted)
	vf, vb []int  // furthest x per diagonal, forward and backward; offset len(vf)/2
}

func (d *myers) compare(aLo, aHi, bLo, bHi int) {
	for aLo < aHi && bLo < bHi && d.a[aLo] == d.b[bLo] {
		aLo++
		bLo++
	}
	for aLo < aHi && bLo < bHi && d.a[aHi-1] == d.b[bHi-1] {
		aHi--
		bHi--
	}
	switch {
	case aLo == aHi:
		for j := bLo; j < bHi; j++ {
			d.cb[j] = true
		}
		return
	case bLo == bHi:
		for i := aLo; i < aHi; i++ {
			d.ca[i] = true
		}
		return
	}
	x, y := d.split(aLo, aHi, bLo, bHi)
	d.compare(aLo, x, bLo, y)
	d.compare(x, aHi, y, bHi)
}

// split returns a point (x, y) on a shortest edit path from (aLo, bLo) to
// (aHi, bHi), strictly between the two corners. Both ranges are non-empty
// and differ in their first and last lines, so the edit distance is at
// least 2 and the point found is never a corner.
func (d *myers) split(aLo, aHi, bLo, bHi int) (int, int) {
	a, b := d.a[aLo:aHi], d.b[bLo:bHi]
	N, M := len(a), len(b)
	delta := N - M
	odd := delta&1 != 0
	off := len(d.vf) / 2
	vf, vb := d.vf, d.vb
	vf[off+1] = 0
	vb[off+delta-1] = N
	maxD := (N + M + 1) / 2
	for D := 0; D <= maxD; D++ {
		for k := -D; k <= D; k += 2 {
			var x int
			if k == -D || (k != D && vf[off+k-1] < vf[off+k+1]) {
				x = vf[off+k+1]
			} else {
				x = vf[off+k-1] + 1
			}
			y := x - k
			for x < N && y < M && a[x] == b[y] {
				x++
				y++
			}
			vf[off+k] = x
			if odd && k >= delta-(D-1) && k <= delta+(D-1) && x >= vb[off+k] {
				return aLo + x, bLo + y
			}
		}
		for k := -D; k <= D; k += 2 {
			kk := k + delta
			var x int
			if k == D || (k != -D && vb[off+kk-1] < vb[off+kk+1]) {
				x = vb[off+kk-1]
			} else {
				x = vb[off+kk+1] - 1
			}
			y := x - kk
			for x > 0 && y > 0 && a[x-1] == b[y-1] {
				x--
				y--
			}
			vb[off+kk] = x
			if !odd && kk >= -D && kk <= D && x <= vf[off+kk] {
				return aLo + x, bLo + y
			}
		}
	}
	panic("myers: no middle snake") // unreachable: D <= maxD always meets
}

func (d *myers) edits() []Edit {
	var out []Edit
	i, j := 0, 0
	for i < len(d.ca) || j < len(d.cb) {
		if (i < len(d.ca) && d.ca[i]) || (j < len(d.cb) && d.cb[j]) {
			e := Edit{A0: i, B0: j}
			for i < len(d.ca) && d.ca[i] {
				i++
			}
			for j < len(d.cb) && d.cb[j] {
				j++
			}
			e.A1, e.B1 = i, j
			out = append(out, e)
			continue
		}
		i++
		j++
	}
	return out
}
