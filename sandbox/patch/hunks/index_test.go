package hunks

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// naiveNearest is the plain scan the index replaces: the reference.
func naiveNearest(img []string, want int, old []string) int {
	last := len(img) - len(old)
	if last < 0 {
		return -1
	}
	want = max(0, min(want, last))
	for d := 0; want+d <= last || want-d >= 0; d++ {
		if p := want + d; p <= last && matchLen(img, p, old) == len(old) {
			return p
		}
		if p := want - d; d > 0 && p >= 0 && matchLen(img, p, old) == len(old) {
			return p
		}
	}
	return -1
}

// TestFindNearestAgreesWithScan compares the budgeted, indexed search with
// the plain scan on random files of few distinct lines (many repeats, so
// many partial matches), with the budget forced to run out at once too.
func TestFindNearestAgreesWithScan(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	alphabet := []string{"a\n", "b\n", "a\r\n", "}\n", "", "c"}
	for iter := 0; iter < 3000; iter++ {
		img := make([]string, r.IntN(60))
		for i := range img {
			img[i] = alphabet[r.IntN(4)]
		}
		if len(img) > 0 && r.IntN(4) == 0 {
			img[len(img)-1] = "c" // a last line without newline
		}
		var old []string
		if len(img) > 0 && r.IntN(2) == 0 {
			p := r.IntN(len(img))
			old = append(old, img[p:min(len(img), p+1+r.IntN(6))]...)
		} else {
			for i := 0; i < 1+r.IntN(5); i++ {
				old = append(old, alphabet[r.IntN(len(alphabet))])
			}
		}
		want := r.IntN(len(img)+3) - 1
		ref := naiveNearest(img, want, old)
		a := newTextApplier([]byte(strings.Join(img, "")), 0)
		require.Equal(t, ref, findNearest(a.img, want, old, a.numbered), "img %q old %q want %d", img, old, want)
		x, ids := a.numbered()
		if pat, ok := x.lookup(old); ok {
			require.Equal(t, ref, nearestOccurrence(ids, pat, want), "index only: img %q old %q want %d", img, old, want)
		} else {
			require.Equal(t, -1, ref)
		}
	}
}
