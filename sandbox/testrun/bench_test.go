package testrun_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/factory-dev/factory"
	"github.com/factory-dev/factory/internal/benchpair"
	"github.com/factory-dev/factory/sandbox"
	"github.com/factory-dev/factory/sandbox/proc"
	"github.com/factory-dev/factory/sandbox/testrun"
	"github.com/stretchr/testify/require"
)

var (
	benchModOnce sync.Once
	benchModDir  string
	benchModErr  error
)

// benchModule generates, once per process, a git repository holding a Go
// module of 4 packages with 50 tests each (200 tests), committed.
func benchModule(b *testing.B) *sandbox.Workspace {
	benchModOnce.Do(func() {
		dir, err := os.MkdirTemp("", "factory-bench-testrun-")
		if err != nil {
			benchModErr = err
			return
		}
		benchModDir = dir
		write := func(name, body string) {
			p := filepath.Join(dir, name)
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil && benchModErr == nil {
				benchModErr = err
			}
			if err := os.WriteFile(p, []byte(body), 0o644); err != nil && benchModErr == nil {
				benchModErr = err
			}
		}
		write("go.mod", "module example.com/benchmod\n\ngo 1.22\n")
		for _, p := range []string{"alpha", "beta", "gamma", "delta"} {
			write(p+"/"+p+".go", fmt.Sprintf("package %s\n\n// Sum adds 0..n-1.\nfunc Sum(n int) int {\n\ts := 0\n\tfor i := 0; i < n; i++ {\n\t\ts += i\n\t}\n\treturn s\n}\n", p))
			var t strings.Builder
			fmt.Fprintf(&t, "package %s\n\nimport \"testing\"\n\n", p)
			for i := 1; i <= 50; i++ {
				fmt.Fprintf(&t, "func TestSum%d(t *testing.T) {\n\tif got, want := Sum(%d), %d; got != want {\n\t\tt.Fatalf(\"Sum(%d) = %%d, want %%d\", got, want)\n\t}\n}\n\n", i, i*100, i*100*(i*100-1)/2, i*100)
			}
			write(p+"/"+p+"_test.go", t.String())
		}
		for _, args := range [][]string{{"init", "-q"}, {"add", "-A"}, {"-c", "user.name=b", "-c", "user.email=b@example.com", "commit", "-qm", "bench"}} {
			if out, err := exec.Command("git", append([]string{"-C", dir}, args...)...).CombinedOutput(); err != nil && benchModErr == nil {
				benchModErr = fmt.Errorf("git %v: %v: %s", args, err, out)
			}
		}
	})
	require.NoError(b, benchModErr)
	w, err := sandbox.Open(context.Background(), sandbox.Config{Root: benchModDir})
	require.NoError(b, err)
	return w
}

// BenchmarkRunTests compares RunTests on a 200-test Go module with running
// the same command directly in the workspace, in paired rounds
// (internal/benchpair). Variants:
// copy (the default: an isolated copy, confined), copy-trimpath (the same
// with GOFLAGS=-trimpath for both sides, so the build cache is shared across
// copies whose paths differ; the copy is now shown at the live root's path
// anyway), in-place (confined, no copy) and copy-cached (no -count=1: the
// sandbox reads the host's cached test results through its discarded
// overlay).
func BenchmarkRunTests(b *testing.B) {
	w := benchModule(b)
	for _, v := range []struct {
		name     string
		inPlace  bool
		trimpath bool
		cached   bool // without -count=1: test results come from the cache
	}{{"copy", false, false, false}, {"copy-trimpath", false, true, false}, {"in-place", true, false, false}, {"copy-cached", false, false, true}} {
		argv := []string{"go", "test", "-json", "-count=1", "./..."}
		if v.cached {
			argv = slices.Delete(argv, 3, 4)
		}
		b.Run(v.name, func(b *testing.B) {
			s := factory.Suite{Name: "bench", Run: argv, Format: factory.FormatGoJSON, Timeout: 5 * time.Minute}
			env := os.Environ()
			if v.trimpath {
				s.Env = map[string]string{"GOFLAGS": "-trimpath"}
				env = append(env, "GOFLAGS=-trimpath")
			}
			tr := testrun.Job{Suite: s, Request: factory.TestRequest{InPlace: v.inPlace}}
			direct := func() time.Duration {
				t0 := time.Now()
				c := exec.Command(argv[0], argv[1:]...)
				c.Dir, c.Env = w.Root(), env
				out, err := c.CombinedOutput()
				require.NoError(b, err, string(out))
				return time.Since(t0)
			}
			viaFactory := func() time.Duration {
				t0 := time.Now()
				rep, _, err := testrun.New(w).Run(context.Background(), tr)
				require.NoError(b, err)
				require.Equal(b, factory.TestPass, rep.Status, "%v", rep.Notes)
				require.Equal(b, 200, rep.Counts.Passed)
				return time.Since(t0)
			}
			direct() // warm the build cache for both
			viaFactory()
			benchpair.Pair(b, benchpair.MinRounds, viaFactory, benchpair.Side{Name: "direct", Run: direct})
		})
	}
}

// BenchmarkReportSize compares the JSON of the compact report of the
// fixture module's failing run with the `go test -v` output of the same
// run (done directly on a copy of the fixture).
func BenchmarkReportSize(b *testing.B) {
	for b.Loop() {
		w := fixtureRepo(b, "gomod")
		c := exec.Command("go", "test", "-v", "-count=1", "-p", "1", "./...")
		c.Dir = w.Root()
		verbose, _ := c.CombinedOutput() // it fails: that is the point
		require.NoError(b, os.RemoveAll(filepath.Join(w.Root(), "basic", ".flaky-ran")))
		rep, _, err := testrun.New(w).Run(context.Background(), testrun.Job{Suite: goFixtureSuite})
		require.NoError(b, err)
		js, err := json.Marshal(rep)
		require.NoError(b, err)
		for _, f := range rep.Failures {
			require.Contains(b, string(verbose), f.Message, "message of %s comes from the run", f.Name)
		}
		b.ReportMetric(float64(len(js)), "report-bytes")
		b.ReportMetric(float64(len(verbose)), "verbose-bytes")
		b.ReportMetric(float64(len(js))/float64(len(verbose)), "ratio-vs-verbose")
	}
}

// BenchmarkRunTestsFixedCost splits the cost RunTests adds to a suite,
// whatever the suite, on the generated module: the snapshot of the live
// tree, the isolated copy (make and close), one confined start of a no-op
// command, and a whole RunTests of the no-op suite `true`, each against
// running `true` directly, in the same loop.
func BenchmarkRunTestsFixedCost(b *testing.B) {
	w := benchModule(b)
	ctx := context.Background()
	trueBin, err := exec.LookPath("true")
	require.NoError(b, err)
	var snap, iso, confined, run, direct time.Duration
	n := 0
	for b.Loop() {
		t0 := time.Now()
		require.NoError(b, exec.Command(trueBin).Run())
		t1 := time.Now()
		s, err := w.Snapshot(ctx, "")
		require.NoError(b, err)
		t2 := time.Now()
		cp, err := w.Isolate(ctx, s.ID)
		require.NoError(b, err)
		require.NoError(b, cp.Close())
		t3 := time.Now()
		res, err := proc.Run(ctx, proc.Cmd{Argv: []string{trueBin}, Dir: w.Root(), Confine: &proc.Confinement{Writable: []string{w.Root()}}})
		require.NoError(b, err)
		require.Equal(b, 0, res.ExitCode)
		t4 := time.Now()
		rep, _, err := testrun.New(w).Run(ctx, testrun.Job{Suite: factory.Suite{Name: "noop", Run: []string{trueBin}, Format: factory.FormatExitCode}})
		require.NoError(b, err)
		require.Equal(b, factory.TestPass, rep.Status, "%v", rep.Notes)
		t5 := time.Now()
		direct += t1.Sub(t0)
		snap += t2.Sub(t1)
		iso += t3.Sub(t2)
		confined += t4.Sub(t3)
		run += t5.Sub(t4)
		n++
	}
	ms := func(d time.Duration) float64 { return float64(d) / float64(n) / 1e6 }
	b.ReportMetric(ms(direct), "direct-ms/op")
	b.ReportMetric(ms(snap), "snapshot-ms/op")
	b.ReportMetric(ms(iso), "isolate-ms/op")
	b.ReportMetric(ms(confined), "confined-start-ms/op")
	b.ReportMetric(ms(run), "runtests-ms/op")
}
