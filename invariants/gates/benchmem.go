package gates

import (
	"bytes"
	"context"

	"github.com/factory-dev/factory"
	"github.com/factory-dev/factory/invariants/rules"
	"golang.org/x/perf/benchfmt"
)

// BenchMem is a benchmark's memory profile.
type BenchMem struct {
	BytesPerOp  float64 `json:"b_op"`
	AllocsPerOp float64 `json:"allocs_op"`
}

// BenchMem runs the benchmarks once with -benchmem and the gate's
// benchtime: B/op and allocs/op barely move between runs, so one run is
// enough, and a timed one (not a few fixed iterations) keeps one-off
// set-up allocations from showing as per-op cost.
func (r Tree) BenchMem(ctx context.Context, g rules.Gate) (map[string]BenchMem, error) {
	bins, err := r.benchBinaries(ctx, g)
	if err != nil {
		return nil, err
	}
	pat, _, bt := benchDefaults(g)
	out := map[string]BenchMem{}
	for _, b := range bins {
		res, err := r.runner.RunCommand(ctx, Command{Argv: []string{b.bin, "-test.run=^$", "-test.bench=" + pat, "-test.benchtime=" + bt, "-test.benchmem", "-test.count=1"},
			Dir: b.dir, Root: r.dir, Env: g.Env, Timeout: g.Timeout, Policy: r.cfg.Sandbox})
		if err != nil {
			return nil, err
		}
		if res.ExitCode != 0 {
			return nil, factory.Errorf(factory.EINVALID, "benchmarks failed (exit code %d): %s", res.ExitCode, excerpt(append(res.Stdout, res.Stderr...), 3, 10))
		}
		for name, m := range parseMem(res.Stdout) {
			out[name] = m
		}
	}
	return out, nil
}

// parseMem reads B/op and allocs/op from benchmark output, names as
// benchstat.Parse gives them.
func parseMem(out []byte) map[string]BenchMem {
	m := map[string]BenchMem{}
	rd := benchfmt.NewReader(bytes.NewReader(out), "bench")
	for rd.Scan() {
		res, ok := rd.Result().(*benchfmt.Result)
		if !ok {
			continue
		}
		b, ok1 := res.Value("B/op")
		a, ok2 := res.Value("allocs/op")
		if !ok1 || !ok2 {
			continue
		}
		base, parts := res.Name.Parts()
		name := "Benchmark" + string(base)
		for _, p := range parts {
			if len(p) > 0 && p[0] == '/' {
				name += string(p)
			}
		}
		m[name] = BenchMem{BytesPerOp: b, AllocsPerOp: a}
	}
	return m
}
