package investigate

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/factory-dev/factory/invariants/benchstat"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/factory-dev/factory"
	"github.com/factory-dev/factory/invariants"
)

// Comparer measures two trees' benchmarks side by side with the bench
// gate's paired, CPU-timed method. *invariants.Controller is one.
type Comparer interface {
	CompareBenchmarks(ctx context.Context, req invariants.CompareRequest) ([]invariants.BenchComparison, error)
}

// Perf verdicts.
const (
	Faster    = "faster"
	Slower    = "slower"
	Unchanged = "unchanged"
)

// The budget of one comparison: the default fits the 60 s an agent waits
// for an answer on a small machine; the cap keeps a call from holding a
// sandbox for longer than a gate would.
const (
	DefaultBudget = 60 * time.Second
	MaxBudget     = 10 * time.Minute
)

// minEffect is the least change called faster or slower, in percent: even
// paired CPU time carries a systematic skew of a percent or two between
// two copies of the same tree (code layout, page placement), which a
// p-value alone would call significant over enough rounds.
const minEffect = 3.0

// PerfRequest asks for two trees' benchmarks compared.
type PerfRequest struct {
	Base     string        // snapshot id or revision; required
	Head     string        // snapshot id or revision; "" means the live tree
	Pattern  string        // -bench regexp; "" means "."
	Packages []string      // package patterns; empty means ./...
	Budget   time.Duration // zero means DefaultBudget
	// Mem adds B/op and allocs/op from one more -benchmem run per side;
	// off by default, as it rebuilds the test binaries.
	Mem bool
}

// PerfResult is a comparison, one row per benchmark run on both trees.
type PerfResult struct {
	Base       string    `json:"base"` // snapshot ids
	Head       string    `json:"head"`
	Basis      string    `json:"basis"` // "paired cpu" or "paired" (the benchmarks' own ns/op)
	Benchmarks []PerfRow `json:"benchmarks"`
	Table      string    `json:"table"` // the rows as benchstat prints them
	Elapsed    string    `json:"elapsed"`
}

// PerfRow is one benchmark on both trees.
type PerfRow struct {
	Name     string  `json:"name"`
	BaseNs   float64 `json:"base_ns_op"` // median
	HeadNs   float64 `json:"head_ns_op"`
	DeltaPct float64 `json:"delta_pct"` // geometric mean of the paired ratios, minus one
	P        float64 `json:"p"`         // paired randomization test
	N        string  `json:"n"`         // rounds: "10+10"
	Verdict  string  `json:"verdict"`   // faster, slower or unchanged
	// B/op and allocs/op, when the benchmark reports them
	BaseBytes  *float64 `json:"base_b_op,omitempty"`
	HeadBytes  *float64 `json:"head_b_op,omitempty"`
	BaseAllocs *float64 `json:"base_allocs_op,omitempty"`
	HeadAllocs *float64 `json:"head_allocs_op,omitempty"`
}

// Compare measures req's benchmarks on both trees within its budget.
// Errors: EINVALID for a bad request or benchmarks that do not build or
// run, ENOTFOUND for an unknown tree, ETIMEOUT when the budget ran out.
func Compare(ctx context.Context, trees Resolver, cmp Comparer, req PerfRequest) (PerfResult, error) {
	if strings.TrimSpace(req.Base) == "" {
		return PerfResult{}, factory.Errorf(factory.EINVALID, "perf_compare needs base: a snapshot id (s-...) or a revision (HEAD, a branch, a tag, a full commit id) to compare head with")
	}
	budget := req.Budget
	if budget == 0 {
		budget = DefaultBudget
	}
	if budget < 5*time.Second || budget > MaxBudget {
		return PerfResult{}, factory.Errorf(factory.EINVALID, "budget %s is outside 5s..%s; give budget_seconds in that range", budget, MaxBudget)
	}
	start := time.Now()
	base, err := resolveTree(ctx, trees, req.Base, "perf_compare base")
	if err != nil {
		return PerfResult{}, err
	}
	head, err := resolveTree(ctx, trees, req.Head, "perf_compare head")
	if err != nil {
		return PerfResult{}, err
	}
	bctx, cancel := context.WithTimeout(ctx, budget)
	defer cancel()
	cs, err := cmp.CompareBenchmarks(bctx, invariants.CompareRequest{Base: base, Head: head, Pattern: req.Pattern, Packages: req.Packages, Mem: req.Mem})
	if err != nil {
		if ctx.Err() == nil && (errors.Is(bctx.Err(), context.DeadlineExceeded) || factory.ErrorCode(err) == factory.ETIMEOUT) {
			return PerfResult{}, factory.Errorf(factory.ETIMEOUT, "the benchmarks did not finish within the budget of %s; narrow pattern or packages, or raise budget_seconds", budget)
		}
		return PerfResult{}, err
	}
	res := PerfResult{Base: base.ID, Head: head.ID, Benchmarks: rows(cs)}
	for _, c := range cs {
		res.Basis = c.Delta.Test
	}
	res.Table = table(res)
	res.Elapsed = time.Since(start).Round(time.Millisecond).String()
	return res, nil
}

// rows turns comparisons into rows sorted by name, each with its verdict.
func rows(cs []invariants.BenchComparison) []PerfRow {
	out := make([]PerfRow, 0, len(cs))
	for _, c := range cs {
		d := c.Delta
		r := PerfRow{Name: c.Name, BaseNs: d.Base, HeadNs: d.Center, DeltaPct: d.DeltaPct, P: d.P, N: d.N, Verdict: verdict(d)}
		if m := c.BaseMem; m != nil {
			r.BaseBytes, r.BaseAllocs = &m.BytesPerOp, &m.AllocsPerOp
		}
		if m := c.HeadMem; m != nil {
			r.HeadBytes, r.HeadAllocs = &m.BytesPerOp, &m.AllocsPerOp
		}
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// verdict calls a change only when its whole 99% interval lies beyond
// minEffect: significance alone is not enough on a busy machine, where a
// point estimate wanders further than its p-value admits.
func verdict(d benchstat.BenchDelta) string {
	switch {
	case d.Bounded && d.Low > minEffect:
		return Slower
	case d.Bounded && d.High < -minEffect:
		return Faster
	}
	return Unchanged
}

// table prints the rows as benchstat does: medians, the change with its
// p-value and rounds, "~" for no change.
func table(r PerfResult) string {
	var b bytes.Buffer
	w := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintf(w, "\tbase %s\thead %s\t\t\n", r.Base, r.Head)
	fmt.Fprintf(w, "\tsec/op\tsec/op\tvs base\t\n")
	for _, row := range r.Benchmarks {
		delta := "~"
		if row.Verdict != Unchanged {
			delta = fmt.Sprintf("%+.2f%%", row.DeltaPct)
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s (p=%.3f n=%s)\t%s\n", strings.TrimPrefix(row.Name, "Benchmark"),
			fmtNs(row.BaseNs), fmtNs(row.HeadNs), delta, row.P, row.N, row.Verdict)
	}
	for _, row := range r.Benchmarks {
		if row.BaseBytes != nil && row.HeadBytes != nil {
			fmt.Fprintf(w, "%s\t%.0f B/op\t%.0f B/op\t%.0f→%.0f allocs/op\t\n", strings.TrimPrefix(row.Name, "Benchmark"),
				*row.BaseBytes, *row.HeadBytes, *row.BaseAllocs, *row.HeadAllocs)
		}
	}
	w.Flush()
	return b.String()
}

// fmtNs prints ns/op the way benchstat does, with a unit.
func fmtNs(ns float64) string {
	switch {
	case ns >= 1e9:
		return fmt.Sprintf("%.3fs", ns/1e9)
	case ns >= 1e6:
		return fmt.Sprintf("%.3fms", ns/1e6)
	case ns >= 1e3:
		return fmt.Sprintf("%.3fµs", ns/1e3)
	default:
		return fmt.Sprintf("%.2fns", ns)
	}
}
