package textdiff

import (
	"bytes"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/require"
)

// lcsLen is the textbook O(nm) longest common subsequence, the reference
// for the Myers implementation's minimality.
func lcsLen(a, b [][]byte) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			switch {
			case bytes.Equal(a[i-1], b[j-1]):
				cur[j] = prev[j-1] + 1
			case prev[j] > cur[j-1]:
				cur[j] = prev[j]
			default:
				cur[j] = cur[j-1]
			}
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// checkScript applies the edit script to a and requires it yields b and is
// minimal.
func checkScript(t testing.TB, a, b [][]byte) {
	es := Lines(a, b)
	var got [][]byte
	i := 0
	dels, adds := 0, 0
	for _, e := range es {
		require.LessOrEqual(t, i, e.A0)
		got = append(got, a[i:e.A0]...)
		got = append(got, b[e.B0:e.B1]...)
		dels += e.A1 - e.A0
		adds += e.B1 - e.B0
		i = e.A1
	}
	got = append(got, a[i:]...)
	require.Equal(t, bytes.Join(b, nil), bytes.Join(got, nil))
	l := lcsLen(a, b)
	require.Equal(t, len(a)-l, dels, "deletions not minimal")
	require.Equal(t, len(b)-l, adds, "additions not minimal")
}

func randLines(r *rand.Rand, n, alphabet int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = []byte{byte('a' + r.Intn(alphabet)), '\n'}
	}
	return out
}

func TestDiffLinesIsMinimalAndCorrect(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	for it := 0; it < 3000; it++ {
		a := randLines(r, r.Intn(30), 1+r.Intn(6))
		b := randLines(r, r.Intn(30), 1+r.Intn(6))
		checkScript(t, a, b)
	}
}

func FuzzDiffLines(f *testing.F) {
	f.Add([]byte("a\nb\nc\n"), []byte("a\nc\nd"))
	f.Fuzz(func(t *testing.T, x, y []byte) {
		if len(x) > 2000 || len(y) > 2000 {
			return
		}
		checkScript(t, SplitLines(x), SplitLines(y))
	})
}
