package gates

import (
	"bytes"
	"context"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/factory-dev/factory/invariants/benchstat"
	"github.com/factory-dev/factory/invariants/rules"
)

// sameBenchmarks reports whether the change diff cannot have changed what
// the benchmarks of sides run: every benchmarked package's test binary is
// identical on both sides (they are built with -trimpath, so the copies'
// paths do not enter them), and every changed path is a Go source file
// outside the benchmarked packages' directories. A Go file outside those
// directories that does not reach the binary changes nothing it executes;
// any other file (testdata, a fixture, go.mod, an embedded asset) might be
// read by a benchmark at run time, so any such change is measured. Without
// a diff (perf_compare, or an unknown change) nothing is assumed.
func sameBenchmarks(sides [2]*benchSide, diff *DiffFacts) bool {
	if diff == nil || len(sides[0].bins) == 0 || len(sides[0].bins) != len(sides[1].bins) {
		return false
	}
	var pkgDirs []string
	for i, b := range sides[0].bins {
		o := sides[1].bins[i]
		if b.pkg != o.pkg {
			return false
		}
		rel, err := filepath.Rel(sides[0].run.dir, b.dir)
		if err != nil || !filepath.IsLocal(rel) && rel != "." {
			return false
		}
		pkgDirs = append(pkgDirs, filepath.ToSlash(rel))
		x, errX := os.ReadFile(filepath.Join(b.dir, b.bin))
		y, errY := os.ReadFile(filepath.Join(o.dir, o.bin))
		if errX != nil || errY != nil || !bytes.Equal(x, y) {
			return false
		}
	}
	for _, p := range diff.Paths {
		if !strings.HasSuffix(p, ".go") {
			return false
		}
		for _, d := range pkgDirs {
			if d == "." || path.Dir(p) == d || strings.HasPrefix(p, d+"/") {
				return false
			}
		}
	}
	return true
}

// identicalFacts are the facts of benchmarks that sameBenchmarks vouched
// for: one run of the baseline names them and gives their cost, and each
// compares as unchanged, without rounds that could only measure noise.
func identicalFacts(ctx context.Context, g rules.Gate, base *benchSide, deadline time.Time) (benchstat.BenchFacts, benchstat.BenchFacts, error) {
	out, err := base.run.benchRound(ctx, g, base.bins, deadline)
	if err != nil {
		return benchstat.BenchFacts{}, benchstat.BenchFacts{}, onSide(0, err)
	}
	fb, err := benchFacts(g, out)
	if err != nil {
		return fb, benchstat.BenchFacts{}, err
	}
	fr, err := benchstat.Parse(out)
	if err != nil {
		return fb, fr, err
	}
	fr.Compare = map[string]benchstat.BenchDelta{}
	for name, r := range fb.Benchmarks {
		fr.Compare[name] = benchstat.BenchDelta{Base: r.Center, Center: r.Center, P: 1, N: "1", Test: benchstat.TestIdentical, Bounded: true}
	}
	return fb, fr, nil
}
