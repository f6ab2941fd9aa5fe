package benchtable

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// output is go test -bench output as benchpair benchmarks write it, with a
// second run of one benchmark, a benchmark with two references, one outside
// the convention and one with no reference.
const output = `goos: linux
pkg: github.com/factory-dev/factory/sandbox/patch
BenchmarkApply600Files-2   	       1	 900 ns/op	 21300000 factory-ns/op	 40100000 git-ns/op	 0.70 ratio-max	 0.40 ratio-min	 0.53 ratio-vs-git	 5 rounds
BenchmarkApply600Files-2   	       1	 900 ns/op	 22000000 factory-ns/op	 39000000 git-ns/op	 0.90 ratio-max	 0.45 ratio-min	 0.57 ratio-vs-git	 5 rounds
PASS
pkg: github.com/factory-dev/factory/sandbox
BenchmarkRestoreAndIsolate/restore-10-files-2 	 1	 5 ns/op	 1500000 factory-ns/op	 300000000 git-ns/op	 0.005 ratio-vs-git	 0.004 ratio-min	 0.006 ratio-max	 200000000 read-tree-ns/op	 0.0075 ratio-vs-read-tree	 0.007 ratio-min-vs-read-tree	 0.008 ratio-max-vs-read-tree	 5 rounds
pkg: github.com/factory-dev/factory/server
BenchmarkCallOverhead/runlog-2 	 1	 5 ns/op	 1.20 ratio-vs-bare
BenchmarkIngest-2 	 50000	 5000 ns/op
`

func TestReadAndMarkdown(t *testing.T) {
	rows, err := Read(strings.NewReader(output))
	require.NoError(t, err)
	require.Len(t, rows, 4)

	a := rows[0]
	require.Equal(t, "patch Apply600Files", a.Work)
	require.Equal(t, "git", a.Ref)
	require.Equal(t, 2, a.Runs)
	require.InDelta(t, 0.55, a.Median, 1e-9, "median of the runs' medians")
	require.InDelta(t, 0.40, a.Min, 1e-9, "least min")
	require.InDelta(t, 0.90, a.Max, 1e-9, "greatest max")
	require.InDelta(t, 21650000, a.Factory, 1e-6)

	require.Equal(t, "sandbox RestoreAndIsolate/restore-10-files", rows[1].Work)
	require.Equal(t, "read-tree", rows[2].Ref)
	require.InDelta(t, 0.007, rows[2].Min, 1e-9, "a further reference's own min")
	require.InDelta(t, 200000000, rows[2].Other, 1e-6)

	var md bytes.Buffer
	require.NoError(t, Markdown(&md, rows))
	want := "| work | factory | reference | ratio (median, min–max) |\n" +
		"|---|---:|---|---:|\n" +
		"| patch Apply600Files | 21.6 ms | git 39.5 ms | 0.55 (0.4–0.9), 2 runs |\n" +
		"| sandbox RestoreAndIsolate/restore-10-files | 1.5 ms | git 300 ms | 0.005 (0.004–0.006) |\n" +
		"| sandbox RestoreAndIsolate/restore-10-files | 1.5 ms | read-tree 200 ms | 0.0075 (0.007–0.008) |\n" +
		"| server CallOverhead/runlog | – | bare | 1.2 |\n"
	require.Equal(t, want, md.String())
}

func TestReadNothing(t *testing.T) {
	rows, err := Read(strings.NewReader("PASS\nok  \tx\t0.1s\n"))
	require.NoError(t, err)
	require.Empty(t, rows)
}
