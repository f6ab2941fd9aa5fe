package benchpair

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestCompareRotatesAndReports runs Compare inside a real benchmark with
// sides that record their order and return fixed times, and checks the
// rounds, the rotation and every metric the convention names.
func TestCompareRotatesAndReports(t *testing.T) {
	var order []string
	side := func(name string, d ...time.Duration) func() time.Duration {
		i := 0
		return func() time.Duration {
			// Real time passes, so the benchmark's b.N settles.
			time.Sleep(time.Millisecond)
			order = append(order, name)
			i++
			return d[(i-1)%len(d)]
		}
	}
	var got []Result
	res := testing.Benchmark(func(b *testing.B) {
		order = nil
		got = Compare(b, 3, func() { order = append(order, "setup") }, side("f", 10, 20, 30, 40, 50),
			Side{"git", side("g", 20)}, Side{"read-tree", side("r", 10)})
	})
	n := max(MinRounds, res.N)
	require.Len(t, order, 4*n)
	for r := 0; r < n; r++ {
		require.Equal(t, "setup", order[4*r], "round %d starts with its setup", r)
		require.Equal(t, []string{"f", "g", "r"}[r%3], order[4*r+1], "round %d then a rotating side", r)
		require.ElementsMatch(t, []string{"f", "g", "r"}, order[4*r+1:4*r+4], "round %d runs every side once", r)
	}
	require.Equal(t, "git", got[0].Ref)
	require.InDelta(t, 1.5, got[0].Median, 1e-9, "ratios 0.5 1 1.5 2 2.5 (and repeats) have median 1.5 when n=5")
	if n == 5 {
		require.InDelta(t, 0.5, got[0].Min, 1e-9)
		require.InDelta(t, 2.5, got[0].Max, 1e-9)
	}
	for _, unit := range []string{"factory-ns/op", "git-ns/op", "ratio-vs-git", "ratio-min", "ratio-max", "rounds",
		"read-tree-ns/op", "ratio-vs-read-tree", "ratio-min-vs-read-tree", "ratio-max-vs-read-tree"} {
		_, ok := res.Extra[unit]
		require.True(t, ok, "metric %s reported; have %v", unit, res.Extra)
	}
	require.Equal(t, float64(n), res.Extra["rounds"])
	require.InDelta(t, 3.0, res.Extra["ratio-vs-read-tree"], 1e-9)
	for unit := range res.Extra {
		require.False(t, strings.Contains(unit, " "), unit)
	}
}

// TestSummarizeEvenRounds checks the median of an even number of rounds.
func TestSummarizeEvenRounds(t *testing.T) {
	r := summarize("x", []time.Duration{1, 2, 3, 4, 5, 6}, []time.Duration{1, 1, 1, 1, 1, 1})
	require.InDelta(t, 3.5, r.Median, 1e-9)
	require.Equal(t, time.Duration(3), r.Factory)
	require.Equal(t, 1.0, r.Min)
	require.Equal(t, 6.0, r.Max)
	require.Equal(t, 6, r.Rounds)
}
