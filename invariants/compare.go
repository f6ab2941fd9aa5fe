package invariants

import (
	"bytes"
	"context"

	"github.com/factory-dev/factory"
	"golang.org/x/perf/benchfmt"
)

// This file is the bench gate's paired machinery offered outside a gate:
// perf_compare (package investigate) measures two arbitrary trees side by
// side exactly as the bench gate judges a change, so a number the agent
// reads while investigating means what the gate would mean.

// BenchComparison is one benchmark measured on two trees.
type BenchComparison struct {
	Name  string     `json:"name"`
	Delta BenchDelta `json:"delta"` // medians, change, p-value and basis (Test)
	// BaseMem and HeadMem are B/op and allocs/op from one -benchmem run per
	// side; nil when the benchmark reports none.
	BaseMem *BenchMem `json:"base_mem,omitempty"`
	HeadMem *BenchMem `json:"head_mem,omitempty"`
}

// BenchMem is a benchmark's memory profile.
type BenchMem struct {
	BytesPerOp  float64 `json:"b_op"`
	AllocsPerOp float64 `json:"allocs_op"`
}

// CompareRequest asks for two trees' benchmarks measured side by side.
type CompareRequest struct {
	Base, Head factory.Snapshot
	Pattern    string   // -bench regexp; "" means "."
	Packages   []string // package patterns; empty means ./...
	Rounds     int      // paired rounds; zero means 10
	Benchtime  string   // per-round CPU target; "" means 100ms
	Mem        bool     // also one -benchmem run per side for B/op and allocs/op
}

// CompareBenchmarks measures req's benchmarks on both trees in paired,
// CPU-timed rounds (pairedBench) in isolated copies, under the sandbox
// policy of factory.yaml as committed (the default policy when there is
// none). Benchmarks on one side only are left out. The caller bounds the
// time with ctx.
func (c *Controller) CompareBenchmarks(ctx context.Context, req CompareRequest) ([]BenchComparison, error) {
	cfg := &Config{}
	if rc, _, err := c.rules(ctx); err == nil {
		cfg = rc
	} else if factory.ErrorCode(err) != factory.ENOTFOUND {
		return nil, err
	}
	g := Gate{Name: "perf_compare", Kind: GateBench, Bench: req.Pattern, Packages: req.Packages, Count: req.Rounds, Benchtime: req.Benchtime}
	var dirs [2]string
	for i, s := range []factory.Snapshot{req.Base, req.Head} {
		cp, err := c.cfg.Workspace.Isolate(ctx, s.ID)
		if err != nil {
			return nil, err
		}
		defer func() {
			if err := cp.Close(); err != nil {
				c.log.Warn("release isolated copy", "dir", cp.Dir(), "err", err)
			}
		}()
		dirs[i] = cp.Dir()
	}
	br := gateRun{runner: c.cfg.Runner, dir: dirs[0], snapshot: req.Base.ID, cfg: cfg}
	hr := gateRun{runner: c.cfg.Runner, dir: dirs[1], snapshot: req.Head.ID, cfg: cfg}
	_, fh, err := pairedBench(ctx, br, hr, g)
	if err != nil {
		return nil, err
	}
	var mem [2]map[string]BenchMem
	if req.Mem {
		for i, r := range []gateRun{br, hr} {
			if mem[i], err = r.benchMem(ctx, g); err != nil {
				return nil, err
			}
		}
	}
	out := make([]BenchComparison, 0, len(fh.Compare))
	for name, d := range fh.Compare {
		bc := BenchComparison{Name: name, Delta: d}
		if m, ok := mem[0][name]; ok {
			bc.BaseMem = &m
		}
		if m, ok := mem[1][name]; ok {
			bc.HeadMem = &m
		}
		out = append(out, bc)
	}
	return out, nil
}

// benchMem runs the benchmarks once with -benchmem and the gate's
// benchtime: B/op and allocs/op barely move between runs, so one run is
// enough, and a timed one (not a few fixed iterations) keeps one-off
// set-up allocations from showing as per-op cost.
func (r gateRun) benchMem(ctx context.Context, g Gate) (map[string]BenchMem, error) {
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
// parseBench gives them.
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
