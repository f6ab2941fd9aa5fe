package investigate_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/factory-dev/factory/invariants"
	"github.com/factory-dev/factory/invariants/gates"
	"github.com/factory-dev/factory/investigate"
	"github.com/factory-dev/factory/sandbox"
	"github.com/factory-dev/factory/sandbox/testrun"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// benchRec is one benchmark run a recorder saw.
type benchRec struct {
	head    bool   // the run was in the head's copy
	pattern string // -test.bench
	n       int64  // -test.benchtime=Nx; 0 for a timed calibration run
	cpu     time.Duration
}

// recorder is a gates.Runner that keeps every benchmark run of the runner
// it wraps, so a test can see what each side of a paired comparison got.
type recorder struct {
	gates.Runner
	headMark string // a file only the head's copy has
	mu       sync.Mutex
	runs     []benchRec
}

func (r *recorder) RunCommand(ctx context.Context, c gates.Command) (gates.CommandResult, error) {
	res, err := r.Runner.RunCommand(ctx, c)
	var rec benchRec
	bench := false
	for _, a := range c.Argv {
		if v, ok := strings.CutPrefix(a, "-test.bench="); ok {
			rec.pattern, bench = v, true
		}
		if v, ok := strings.CutPrefix(a, "-test.benchtime="); ok && strings.HasSuffix(v, "x") {
			rec.n, _ = strconv.ParseInt(strings.TrimSuffix(v, "x"), 10, 64)
		}
	}
	if bench && err == nil {
		_, statErr := os.Stat(filepath.Join(c.Root, r.headMark))
		rec.head, rec.cpu = statErr == nil, res.CPU
		r.mu.Lock()
		r.runs = append(r.runs, rec)
		r.mu.Unlock()
	}
	return res, err
}

// take returns the runs recorded since the last take.
func (r *recorder) take() []benchRec {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.runs
	r.runs = nil
	return out
}

// roundStats is what one benchmark function's paired rounds looked like
// on each side: the iterations each side ran, the fixed CPU cost F of a
// run (the median 1x run), and each round's ratio head/base of the CPU
// per iteration (CPU - F) / n, the least of the round's repetitions per
// side, as the gate computes it.
type roundStats struct {
	pattern string
	n       [2]int64
	fixed   time.Duration
	ratios  []float64
}

// roundsOf reads the paired rounds out of one comparison's runs: per
// pattern and side, the 1x runs give F, and the trailing runs at the last
// (planned) n are the rounds, two repetitions each.
func roundsOf(runs []benchRec, reps int) []roundStats {
	by := map[string]*[2][]benchRec{}
	var order []string
	for _, r := range runs {
		if by[r.pattern] == nil {
			by[r.pattern] = &[2][]benchRec{}
			order = append(order, r.pattern)
		}
		k := 0
		if r.head {
			k = 1
		}
		by[r.pattern][k] = append(by[r.pattern][k], r)
	}
	var out []roundStats
	for _, p := range order {
		sides := by[p]
		var ones []time.Duration
		var planned [2][]benchRec
		st := roundStats{pattern: p}
		for k := range 2 {
			for _, r := range sides[k] {
				if r.n == 1 {
					ones = append(ones, r.cpu)
				}
			}
			runs := sides[k]
			if len(runs) == 0 || runs[len(runs)-1].n < 2 {
				continue
			}
			st.n[k] = runs[len(runs)-1].n
			i := len(runs)
			for i > 0 && runs[i-1].n == st.n[k] {
				i--
			}
			planned[k] = runs[i:]
		}
		if len(ones) == 0 || len(planned[0]) == 0 || len(planned[1]) == 0 {
			continue
		}
		slices.Sort(ones)
		st.fixed = ones[len(ones)/2]
		// a probe at the planned n would look like a round: pair from the end
		m := min(len(planned[0]), len(planned[1])) / reps * reps
		for k := range 2 {
			planned[k] = planned[k][len(planned[k])-m:]
		}
		for i := 0; i < m; i += reps {
			var least [2]float64
			for k := range 2 {
				for _, r := range planned[k][i : i+reps] {
					v := float64(r.cpu-st.fixed) / float64(st.n[k])
					if least[k] == 0 || v < least[k] {
						least[k] = v
					}
				}
			}
			if least[0] > 0 && least[1] > 0 {
				st.ratios = append(st.ratios, least[1]/least[0])
			}
		}
		out = append(out, st)
	}
	return out
}

// burnCPU keeps one core busy for the rest of the test, as a neighbour on
// a CI machine does.
func burnCPU(t *testing.T) {
	t.Helper()
	yes := exec.Command("yes")
	require.NoError(t, yes.Start())
	t.Cleanup(func() {
		_ = yes.Process.Kill()
		_ = yes.Wait()
	})
}

// TestPerfCompareBiasOnIdenticalCodeUnderLoad is the experiment behind the
// paired method's fairness: the same code on both sides (the head's copy
// differs by a text file no benchmark reads), compared again and again
// while another process burns a core. Every round's ratio head/base is
// logged with each side's n and F. A side's CPU-ns/op is (CPU - F) / n, and
// F misses a run's true fixed cost by a few ms under load, so sides sized
// apart carry different offsets that every round of a comparison repeats:
// with n sized per side (1364 and 353 for the same code) the ratio
// followed the sizing, above 1 where the head ran fewer iterations, below
// where it ran more. So the sides of identical code must share one n (one
// split comparison is tolerated: under load both the calibration and the
// probes can misjudge by 2x), and no comparison may call a change. make
// bench runs it (FACTORY_PERF_POWER=1).
func TestPerfCompareBiasOnIdenticalCodeUnderLoad(t *testing.T) {
	if os.Getenv("FACTORY_PERF_POWER") == "" {
		t.Skip("the bias experiment runs in make bench (FACTORY_PERF_POWER=1)")
	}
	tries := 6
	if v := os.Getenv("FACTORY_PERF_TRIES"); v != "" {
		tries, _ = strconv.Atoi(v)
	}
	repo, _, slow := perfRepo(t)
	same := commit(t, repo, "same code", map[string]string{"NOTES.txt": "the same code as its parent\n"})
	ws, err := sandbox.Open(context.Background(), sandbox.Config{Root: repo})
	require.NoError(t, err)
	rec := &recorder{Runner: testrun.New(ws), headMark: "NOTES.txt"}
	c, err := invariants.New(invariants.ControllerConfig{Workspace: testrun.Workspace{Workspace: ws}, Runner: rec,
		CacheDir: filepath.Join(ws.GitDir(), "factory", "cache")})
	require.NoError(t, err)
	burnCPU(t)
	all := map[string][]float64{}
	alarms, decisions, split := 0, 0, 0
	for i := range tries {
		res, err := investigate.Compare(context.Background(), ws, c, investigate.PerfRequest{Base: slow, Head: same, Packages: []string{"./p"}, Budget: 5 * time.Minute})
		if err != nil {
			t.Errorf("try %d: %v", i, err)
			rec.take()
			continue
		}
		assert.Len(t, res.Benchmarks, 2, res.Table)
		for _, st := range roundsOf(rec.take(), 2) {
			all[st.pattern] = append(all[st.pattern], st.ratios...)
			if st.n[0] != st.n[1] {
				split++
			}
			t.Logf("try %d %s: n %d/%d, F %s, ratios %s", i, st.pattern, st.n[0], st.n[1], st.fixed.Round(100*time.Microsecond), summary(st.ratios))
		}
		for _, r := range res.Benchmarks {
			decisions++
			if r.Verdict != investigate.Unchanged {
				alarms++
			}
		}
		t.Logf("try %d (%s):\n%s", i, res.Elapsed, res.Table)
	}
	t.Logf("false alarms: %d of %d decisions; sides sized apart in %d", alarms, decisions, split)
	for p, rs := range all {
		t.Logf("%s over all tries: %s", p, summary(rs))
	}
	assert.LessOrEqual(t, split, 1, "identical code's sides share one iteration count")
	assert.Zero(t, alarms, "identical code: no significant change")
}

// summary prints ratios as median [min, max] over n.
func summary(rs []float64) string {
	if len(rs) == 0 {
		return "none"
	}
	s := slices.Clone(rs)
	slices.Sort(s)
	return fmt.Sprintf("median %.3f [%.3f, %.3f] over %d", s[len(s)/2], s[0], s[len(s)-1], len(s))
}
