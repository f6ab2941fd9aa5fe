package gates

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// twoSides lays out two trees, each with the test binary of ./core
// (contents given) where benchBinaries puts it.
func twoSides(t *testing.T, binBase, binResult string) [2]*benchSide {
	t.Helper()
	var sides [2]*benchSide
	for k, content := range []string{binBase, binResult} {
		dir := t.TempDir()
		pkgDir := filepath.Join(dir, "core")
		require.NoError(t, os.MkdirAll(filepath.Join(dir, BenchDir), 0o755))
		require.NoError(t, os.MkdirAll(pkgDir, 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, BenchDir, "0.test"), []byte(content), 0o755))
		sides[k] = &benchSide{run: Tree{dir: dir}, bins: []benchBin{{bin: "../" + BenchDir + "/0.test", dir: pkgDir, pkg: "example.com/m/core"}}}
	}
	return sides
}

func TestSameBenchmarksOnlyForAChangeNoBenchmarkCanSee(t *testing.T) {
	same := twoSides(t, "ELF same", "ELF same")
	assert.True(t, sameBenchmarks(same, &DiffFacts{Paths: []string{"ui/ui.go", "ui/total_test.go"}}),
		"Go files outside the benchmarked package, identical binaries: nothing to measure")
	assert.False(t, sameBenchmarks(same, nil), "without a diff nothing is assumed (perf_compare measures)")
	assert.False(t, sameBenchmarks(same, &DiffFacts{Paths: []string{"core/core.go"}}), "a file of the benchmarked package is measured")
	assert.False(t, sameBenchmarks(same, &DiffFacts{Paths: []string{"core/sub/x.go"}}), "a file below it too")
	assert.False(t, sameBenchmarks(twoSides(t, "ELF one", "ELF two"), &DiffFacts{Paths: []string{"ui/ui.go"}}), "another binary is measured")
}

// attack: keep the benchmarked code and its binary byte-identical, and
// make the benchmark slower through a file it reads at run time (a bigger
// fixture, a go.mod replace, an embedded asset elsewhere) -> the change is
// measured, not waved through as identical
func TestAttackBenchSkipThroughADataFile(t *testing.T) {
	same := twoSides(t, "ELF same", "ELF same")
	for _, p := range []string{"fixtures/input.json", "core/testdata/big.txt", "go.mod", "ui/ui.go.tmpl"} {
		assert.False(t, sameBenchmarks(same, &DiffFacts{Paths: []string{"ui/ui.go", p}}), p)
	}
}
