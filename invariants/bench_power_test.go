package invariants_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/factory-dev/factory"
	"github.com/factory-dev/factory/invariants"
	"github.com/factory-dev/factory/sandbox"
	"github.com/factory-dev/factory/sandbox/testrun"
)

// slowerChecksum makes core.Checksum about 30% slower: a second pass over
// 30% of its input.
const slowerChecksum = "\textra := uint32(0)\n\tfor _, b := range data[:len(data)*3/10] { // a second pass over 30% of the input\n\t\textra ^= uint32(b)\n\t\textra *= 16777619\n\t}\n\tif extra == 0x9e3779b9 {\n\t\th++\n\t}\n\treturn h\n}"

// proposeChecksum proposes, on examples/gates, either the 30% slower
// Checksum or the same code with a new comment (a new tree, the same
// work), and returns the checksum-fast verdict and the Propose's wall time.
func proposeChecksum(t testing.TB, repo string, c *invariants.Controller, slower bool, i int) (factory.Verdict, bool, time.Duration) {
	t.Helper()
	patch := invariants.MakePatchForTest(t, repo, func(d string) {
		// a new tree every time, the same code
		invariants.WriteFilesForTest(t, d, map[string]string{fmt.Sprintf("core/proposal%d.go", i): "package core\n"})
		if slower {
			invariants.ReplaceInForTest(t, d, "core/core.go", "\treturn h\n}", slowerChecksum)
		}
	})
	start := time.Now()
	res, err := c.Propose(context.Background(), invariants.ProposeRequest{Patch: patch})
	took := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range res.Verdicts {
		if v.ID == "checksum-fast" {
			return v, res.Accepted, took
		}
	}
	t.Fatalf("no checksum-fast verdict: %s %+v", res.Reason, res.Verdicts)
	return factory.Verdict{}, false, took
}

// BenchmarkBenchGatePower proposes a 30% slower Checksum and an unchanged
// one on examples/gates, rounds times each (BENCH_GATE_ROUNDS, default 10),
// and reports how many of each the gate rejected and the median Propose
// time: the slowdown must be rejected every time, the unchanged code never.
func BenchmarkBenchGatePower(b *testing.B) {
	rounds := 10
	if v := os.Getenv("BENCH_GATE_ROUNDS"); v != "" {
		fmt.Sscan(v, &rounds)
	}
	for range b.N {
		repo := invariants.RepoFromForTest(b, "../examples/gates")
		ws, err := sandbox.Open(context.Background(), sandbox.Config{Root: repo})
		if err != nil {
			b.Fatal(err)
		}
		phases := &phaseTimes{d: map[string]time.Duration{}}
		c, err := invariants.New(invariants.ControllerConfig{Workspace: testrun.Workspace{Workspace: ws}, Runner: testrun.New(ws), Steps: phases})
		if err != nil {
			b.Fatal(err)
		}
		var slowRejected, sameRejected int
		var times []time.Duration
		for i := range rounds {
			for _, slower := range []bool{true, false} {
				v, accepted, took := proposeChecksum(b, repo, c, slower, 2*i+map[bool]int{true: 0, false: 1}[slower])
				times = append(times, took)
				rejected := v.Status != factory.VerdictPass
				if slower && rejected {
					slowRejected++
				}
				if !slower && rejected {
					sameRejected++
				}
				b.Logf("phases: %v", phases.d)
				phases.d = map[string]time.Duration{}
				b.Logf("slower=%v accepted=%v %s in %s: %s; %s", slower, accepted, v.Status, took.Round(time.Millisecond), v.Message, strings.Join(v.Evidence, "; "))
			}
		}
		slices.Sort(times)
		b.ReportMetric(float64(slowRejected), "slower-rejected")
		b.ReportMetric(float64(sameRejected), "unchanged-rejected")
		b.ReportMetric(times[len(times)/2].Seconds(), "median-propose-s")
	}
}
