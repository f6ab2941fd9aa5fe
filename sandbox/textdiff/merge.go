package textdiff

import "bytes"

// ConflictRegion is one place where the live tree and the change both
// edited a file differently. Lines are 1-based in the base version; an
// insertion between lines has End == Start-1.
type ConflictRegion struct {
	Start  int      `json:"start"`  // first base line both sides replaced
	End    int      `json:"end"`    // last one (Start-1 for an insertion)
	Base   []string `json:"base"`   // the base's lines there
	Live   []string `json:"live"`   // what the live tree has instead
	Change []string `json:"change"` // what the change has instead
}

// Merge3 merges the edits base→ours and base→theirs, line by line, as
// diff3 and `git merge-file` do: edits that neither overlap nor touch are
// both taken; overlapping or adjacent edits are taken when identical and
// are a conflict otherwise. merged is meaningful only when there are no
// conflicts.
func Merge3(base, ours, theirs []byte) (merged []byte, conflicts []ConflictRegion) {
	bl, ol, tl := SplitLines(base), SplitLines(ours), SplitLines(theirs)
	eo, et := Lines(bl, ol), Lines(bl, tl)
	var out bytes.Buffer
	pos := 0 // next base line to copy
	i, j := 0, 0
	for i < len(eo) || j < len(et) {
		// Start a group at the earliest change, then absorb every change of
		// either side that overlaps or touches it.
		var lo, hi int
		switch {
		case j >= len(et) || (i < len(eo) && eo[i].A0 <= et[j].A0):
			lo, hi = eo[i].A0, eo[i].A1
		default:
			lo, hi = et[j].A0, et[j].A1
		}
		i0, j0 := i, j
		for {
			grew := false
			if i < len(eo) && eo[i].A0 <= hi {
				hi = max(hi, eo[i].A1)
				i++
				grew = true
			}
			if j < len(et) && et[j].A0 <= hi {
				hi = max(hi, et[j].A1)
				j++
				grew = true
			}
			if !grew {
				break
			}
		}
		for ; pos < lo; pos++ {
			out.Write(bl[pos])
		}
		oursPart := applyEdits(bl, ol, eo[i0:i], lo, hi)
		theirsPart := applyEdits(bl, tl, et[j0:j], lo, hi)
		switch {
		case i == i0:
			writeLines(&out, theirsPart)
		case j == j0:
			writeLines(&out, oursPart)
		case linesEqual(oursPart, theirsPart):
			writeLines(&out, oursPart)
		default:
			conflicts = append(conflicts, ConflictRegion{
				Start: lo + 1, End: hi,
				Base: toStrings(bl[lo:hi]), Live: toStrings(oursPart), Change: toStrings(theirsPart),
			})
			writeLines(&out, oursPart)
		}
		pos = hi
	}
	for ; pos < len(bl); pos++ {
		out.Write(bl[pos])
	}
	return out.Bytes(), conflicts
}

// applyEdits returns base[lo:hi] with the given edits (all within it)
// applied, taking the new lines from side.
func applyEdits(base, side [][]byte, es []Edit, lo, hi int) [][]byte {
	var out [][]byte
	pos := lo
	for _, e := range es {
		out = append(out, base[pos:e.A0]...)
		out = append(out, side[e.B0:e.B1]...)
		pos = e.A1
	}
	return append(out, base[pos:hi]...)
}

func writeLines(b *bytes.Buffer, ls [][]byte) {
	for _, l := range ls {
		b.Write(l)
	}
}

func linesEqual(a, b [][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}

func toStrings(ls [][]byte) []string {
	out := make([]string, len(ls))
	for i, l := range ls {
		out[i] = string(l)
	}
	return out
}
