package gates

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/factory-dev/factory"
	"github.com/factory-dev/factory/invariants/benchstat"
	"github.com/factory-dev/factory/invariants/rules"
)

// benchDefaults is the gate's benchmark pattern, round count and
// -benchtime, defaults filled in.
func benchDefaults(g rules.Gate) (pat string, count int, benchtime string) {
	pat, count, benchtime = g.Bench, g.Count, g.Benchtime
	if pat == "" {
		pat = "."
	}
	if count == 0 {
		count = 10
	}
	if benchtime == "" {
		benchtime = "20ms"
	}
	return pat, count, benchtime
}

// benchBin is one compiled test binary and the package directory it runs
// in, both on the host, the binary's path relative to dir (commands may see
// the tree at another path: see CommandResult.Dir).
type benchBin struct{ bin, dir, pkg string }

// BenchDir is where the bench gate compiles the test binaries, in the tree.
const BenchDir = ".factory-bench"

// benchBinaries compiles the test binary of every package of the gate that
// has tests (go test -c), so the benchmarks can then run many times, and
// alternately with another tree's, without rebuilding.
func (r Tree) benchBinaries(ctx context.Context, g rules.Gate) ([]benchBin, error) {
	pkgs := PackagesOr(g.Packages)
	if err := safePatterns(pkgs); err != nil {
		return nil, err
	}
	argv := append([]string{"go", "list", "-e", "-f", "{{.ImportPath}}\t{{.Dir}}\t{{len .TestGoFiles}}\t{{len .XTestGoFiles}}"}, pkgs...)
	res, err := r.exec(ctx, g, argv)
	if err != nil {
		return nil, err
	}
	if res.ExitCode != 0 {
		return nil, factory.Errorf(factory.EINVALID, "go list exited %d: %s", res.ExitCode, excerpt(res.Stderr, 3, 5))
	}
	var bins []benchBin
	for _, line := range strings.Split(strings.TrimSpace(string(res.Stdout)), "\n") {
		f := strings.Split(line, "\t")
		if len(f) != 4 || (f[2] == "0" && f[3] == "0") {
			continue
		}
		_, pkgDir, ok := treePath(r.dir, res, f[1])
		if !ok {
			return nil, factory.Errorf(factory.EINVALID, "package %s is in %s, outside the tree", f[0], f[1])
		}
		// relative to the command's working directory (r.dir), whatever path
		// the command sees it at
		bin := filepath.Join(BenchDir, fmt.Sprintf("%d.test", len(bins)))
		cres, err := r.exec(ctx, g, []string{"go", "test", "-c", "-trimpath", "-o", bin, f[0]})
		if err != nil {
			return nil, err
		}
		if cres.ExitCode != 0 {
			return nil, factory.Errorf(factory.EINVALID, "building the benchmarks of %s failed (exit code %d): %s", f[0], cres.ExitCode, excerpt(append(cres.Stdout, cres.Stderr...), 3, 10))
		}
		rel, err := filepath.Rel(pkgDir, filepath.Join(r.dir, bin))
		if err != nil {
			return nil, factory.Errorf(factory.EINTERNAL, "benchmark binary %s: %v", bin, err)
		}
		if !strings.Contains(rel, string(filepath.Separator)) {
			rel = "." + string(filepath.Separator) + rel
		}
		bins = append(bins, benchBin{bin: rel, dir: pkgDir, pkg: f[0]})
	}
	if len(bins) == 0 {
		return nil, factory.Errorf(factory.EINVALID, "no package with tests matches %s", strings.Join(pkgs, " "))
	}
	return bins, nil
}

// benchRound runs every binary's benchmarks once (-test.count=1), cut
// short at deadline (none when zero).
func (r Tree) benchRound(ctx context.Context, g rules.Gate, bins []benchBin, deadline time.Time) ([]byte, error) {
	pat, _, bt := benchDefaults(g)
	var out []byte
	for _, b := range bins {
		res, err := r.benchRun(ctx, g, b, pat, bt, deadline)
		if err != nil {
			return nil, err
		}
		out = append(out, res.Stdout...)
	}
	return out, nil
}

// bench runs a bench gate on one tree: the gate's own command when it has
// one, else the compiled test binaries Count times.
func (r Tree) bench(ctx context.Context, g rules.Gate) (any, error) {
	var out []byte
	if g.Run != nil {
		res, err := r.exec(ctx, g, g.Run)
		if err != nil {
			return nil, err
		}
		if res.ExitCode != 0 {
			return nil, factory.Errorf(factory.EINVALID, "benchmarks failed (exit code %d): %s", res.ExitCode, excerpt(append(res.Stdout, res.Stderr...), 3, 10))
		}
		out = res.Stdout
	} else {
		bins, err := r.benchBinaries(ctx, g)
		if err != nil {
			return nil, err
		}
		_, count, _ := benchDefaults(g)
		for i := 0; i < count; i++ {
			o, err := r.benchRound(ctx, g, bins, time.Time{})
			if err != nil {
				return nil, err
			}
			out = append(out, o...)
		}
	}
	return benchFacts(g, out)
}

// benchFacts parses benchmark output, refusing output in which no
// benchmark ran.
func benchFacts(g rules.Gate, out []byte) (benchstat.BenchFacts, error) {
	f, err := benchstat.Parse(out)
	if err != nil {
		return f, err
	}
	if len(f.Benchmarks) == 0 {
		return f, factory.Errorf(factory.EINVALID, "no benchmark ran (pattern %q): %s", g.Bench, excerpt(out, 3, 5))
	}
	return f, nil
}
