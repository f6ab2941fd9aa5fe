package invariants

import (
	"context"
	"time"

	"github.com/factory-dev/factory"
	"github.com/factory-dev/factory/invariants/benchstat"
	"github.com/factory-dev/factory/invariants/gates"
	"github.com/factory-dev/factory/invariants/rules"
)

// This file is the bench gate's paired machinery offered outside a gate:
// perf_compare (package investigate) measures two arbitrary trees side by
// side exactly as the bench gate judges a change, so a number the agent
// reads while investigating means what the gate would mean.

// BenchComparison is one benchmark measured on two trees.
type BenchComparison struct {
	Name  string               `json:"name"`
	Delta benchstat.BenchDelta `json:"delta"` // medians, change, p-value and basis (Test)
	// BaseMem and HeadMem are B/op and allocs/op from one -benchmem run per
	// side; nil when the benchmark reports none.
	BaseMem *gates.BenchMem `json:"base_mem,omitempty"`
	HeadMem *gates.BenchMem `json:"head_mem,omitempty"`
}

// CompareRequest asks for two trees' benchmarks measured side by side.
type CompareRequest struct {
	Base, Head factory.Snapshot
	Pattern    string   // -bench regexp; "" means "."
	Packages   []string // package patterns; empty means ./...
	Rounds     int      // paired rounds; zero means 10
	Benchtime  string   // per-round CPU target; "" means the bench gate's 20ms
	Mem        bool     // also one -benchmem run per side for B/op and allocs/op
}

// CompareBenchmarks measures req's benchmarks on both trees in paired,
// CPU-timed rounds (pairedBench) in isolated copies, under the sandbox
// policy of factory.yaml as committed (the default policy when there is
// none). Benchmarks on one side only are left out. The caller bounds the
// time with ctx.
func (c *Controller) CompareBenchmarks(ctx context.Context, req CompareRequest) ([]BenchComparison, error) {
	cfg := &rules.Config{}
	if rc, _, err := c.rules(ctx); err == nil {
		cfg = rc
	} else if factory.ErrorCode(err) != factory.ENOTFOUND {
		return nil, err
	}
	g := rules.Gate{Name: "perf_compare", Kind: rules.GateBench, Bench: req.Pattern, Packages: req.Packages, Count: req.Rounds, Benchtime: req.Benchtime}
	if dl, ok := ctx.Deadline(); ok {
		// the caller's bound is the measuring budget, less a quarter for
		// the copies, the builds and the -benchmem runs: without it the
		// gate's own 30 s would refuse a comparison the caller gave
		// minutes for
		g.Budget = max(time.Until(dl)*3/4, time.Second)
	}
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
	br := gates.NewTree(c.cfg.Runner, dirs[0], req.Base.ID, cfg, nil)
	hr := gates.NewTree(c.cfg.Runner, dirs[1], req.Head.ID, cfg, nil)
	_, fh, err := gates.PairedBench(ctx, br, hr, g)
	if err != nil {
		return nil, err
	}
	var mem [2]map[string]gates.BenchMem
	if req.Mem {
		for i, r := range []gates.Tree{br, hr} {
			if mem[i], err = r.BenchMem(ctx, g); err != nil {
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
