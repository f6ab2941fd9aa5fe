package invariants_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/factory-dev/factory/invariants"
	"github.com/factory-dev/factory/invariants/gates"
	"github.com/factory-dev/factory/sandbox"
	"github.com/factory-dev/factory/sandbox/testrun"
)

const benchFiles = 20000

var (
	bigOnce sync.Once
	bigRepo string
	bigErr  error
)

// bigWorkspace is a generated 20,000-file repository (200 directories of
// 100 small files, committed), built once per process.
func bigWorkspace(b *testing.B) string {
	bigOnce.Do(func() {
		dir, err := os.MkdirTemp("", "inv-bench-")
		if err != nil {
			bigErr = err
			return
		}
		bigRepo = dir
		for d := 0; d < benchFiles/100; d++ {
			sub := filepath.Join(dir, fmt.Sprintf("pkg%03d", d))
			if bigErr = os.MkdirAll(sub, 0o755); bigErr != nil {
				return
			}
			for f := 0; f < 100; f++ {
				body := fmt.Sprintf("// file %d of package %d\npackage pkg%03d\n\nconst V%d = %d\n", f, d, d, f, d*100+f)
				if bigErr = os.WriteFile(filepath.Join(sub, fmt.Sprintf("f%03d.go", f)), []byte(body), 0o644); bigErr != nil {
					return
				}
			}
		}
		cfg := "version: 1\ngates:\n  ok: {run: [\"true\"]}\ninvariants:\n  - {id: ok, expr: \"ok.exit_code == 0\"}\n  - {id: small, expr: \"diff.files <= 10\"}\n  - {id: frozen, protect: [\"pkg000/**\"]}\n"
		if bigErr = os.WriteFile(filepath.Join(dir, "factory.yaml"), []byte(cfg), 0o644); bigErr != nil {
			return
		}
		if bigErr = os.WriteFile(filepath.Join(dir, "counter.txt"), []byte("value 0\n"), 0o644); bigErr != nil {
			return
		}
		for _, args := range [][]string{{"init", "-q", "-b", "main"}, {"add", "-A"}, {"commit", "-q", "-m", "generated"}} {
			cmd := exec.Command("git", args...)
			cmd.Dir = dir
			cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=b", "GIT_AUTHOR_EMAIL=b@b", "GIT_COMMITTER_NAME=b", "GIT_COMMITTER_EMAIL=b@b", "GIT_CONFIG_GLOBAL=/dev/null")
			if out, err := cmd.CombinedOutput(); err != nil {
				bigErr = fmt.Errorf("git %v: %v: %s", args, err, out)
				return
			}
		}
	})
	if bigErr != nil {
		b.Fatal(bigErr)
	}
	return bigRepo
}

// BenchmarkProposeOverhead measures the controller's own cost on a
// 20,000-file workspace: the wall time of an accepted Propose minus the time
// its gate's command takes when run directly (through the same confined
// runner), in the same run. Every iteration lands a one-line change.
func BenchmarkProposeOverhead(b *testing.B) {
	repo := bigWorkspace(b)
	ctx := context.Background()
	ws, err := sandbox.Open(ctx, sandbox.Config{Root: repo})
	if err != nil {
		b.Fatal(err)
	}
	runner := testrun.New(ws)
	phases := &phaseTimes{d: map[string]time.Duration{}}
	c, err := invariants.New(invariants.ControllerConfig{Workspace: testrun.Workspace{Workspace: ws}, Runner: runner, Steps: phases})
	if err != nil {
		b.Fatal(err)
	}
	cur := 0
	if data, err := os.ReadFile(filepath.Join(repo, "counter.txt")); err == nil {
		fmt.Sscanf(string(data), "value %d", &cur)
	}
	// warm up: the first snapshot of a fresh tree hashes every file
	if _, err := ws.Snapshot(ctx, "warm"); err != nil {
		b.Fatal(err)
	}
	proposeNext := func() time.Duration {
		patch := fmt.Sprintf("--- a/counter.txt\n+++ b/counter.txt\n@@ -1 +1 @@\n-value %d\n+value %d\n", cur, cur+1)
		start := time.Now()
		res, err := c.Propose(ctx, invariants.ProposeRequest{Patch: patch})
		took := time.Since(start)
		if err != nil || !res.Accepted {
			b.Fatalf("propose: %v %s %+v", err, res.Reason, res.Verdicts)
		}
		cur++
		return took
	}
	// The first proposal on a tree also fills the copy cache (a checkout
	// of every file, seconds on 20,000): reported apart, so that one
	// cold call does not stand for the steady state under -benchtime 1x.
	first := proposeNext()
	phases.reset()
	scratch := b.TempDir()
	var propose, direct time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		propose += proposeNext()
		start := time.Now()
		if _, err := runner.RunCommand(ctx, gates.Command{Argv: []string{"true"}, Dir: scratch}); err != nil {
			b.Fatal(err)
		}
		direct += time.Since(start)
	}
	b.StopTimer()
	n := float64(b.N)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 / n }
	b.ReportMetric(float64(first.Microseconds())/1000, "first-propose-ms")
	b.ReportMetric(ms(propose), "propose-ms/op")
	b.ReportMetric(ms(direct), "gates-direct-ms/op")
	b.ReportMetric(ms(propose-direct), "overhead-ms/op")
	if direct > 0 {
		b.ReportMetric(float64(propose)/float64(direct), "ratio-vs-direct")
	}
	// where the overhead goes: the sandbox's phases (and the gate's run in
	// the copy), and the rest: the controller's own work (config, diff
	// facts, evaluation, bookkeeping)
	sandboxTime := time.Duration(0)
	for _, p := range []string{"snapshot", "isolate", "apply", "snapshot result", "diff", "promote", "snapshot live", "release", "gate ok"} {
		sandboxTime += phases.d[p]
	}
	b.ReportMetric(ms(phases.d["isolate"]), "isolate-ms/op")
	b.ReportMetric(ms(phases.d["snapshot"]+phases.d["snapshot result"]+phases.d["snapshot live"]), "snapshots-ms/op")
	b.ReportMetric(ms(phases.d["promote"]), "promote-ms/op")
	b.ReportMetric(ms(phases.d["release"]), "release-ms/op")
	b.ReportMetric(ms(phases.d["gate ok"]), "gate-in-copy-ms/op")
	b.ReportMetric(ms(propose-sandboxTime), "controller-own-ms/op")
}

// phaseTimes is a Steps adding up each phase's wall time.
type phaseTimes struct {
	mu sync.Mutex
	d  map[string]time.Duration
}

// reset forgets the phases recorded so far.
func (p *phaseTimes) reset() {
	p.mu.Lock()
	clear(p.d)
	p.mu.Unlock()
}

func (p *phaseTimes) Begin(ctx context.Context, name string) (context.Context, func(string, error)) {
	start := time.Now()
	return ctx, func(string, error) {
		p.mu.Lock()
		p.d[name] += time.Since(start)
		p.mu.Unlock()
	}
}

// BenchmarkCheckCached is the cost of a Check on an unchanged 20,000-file
// tree whose verdicts are cached: one snapshot and a cache lookup.
func BenchmarkCheckCached(b *testing.B) {
	repo := bigWorkspace(b)
	ctx := context.Background()
	ws, err := sandbox.Open(ctx, sandbox.Config{Root: repo})
	if err != nil {
		b.Fatal(err)
	}
	c, err := invariants.New(invariants.ControllerConfig{Workspace: testrun.Workspace{Workspace: ws}, Runner: testrun.New(ws)})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := c.Check(ctx, invariants.CheckRequest{}); err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	if _, err := ws.Snapshot(ctx, "ref"); err != nil {
		b.Fatal(err)
	}
	snap := time.Since(start)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		res, err := c.Check(ctx, invariants.CheckRequest{})
		if err != nil || !res.Cached {
			b.Fatalf("check: %v cached=%v", err, res.Cached)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(snap.Microseconds())/1000, "snapshot-ms")
}
