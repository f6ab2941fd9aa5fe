package investigate_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/factory-dev/factory"
	"github.com/factory-dev/factory/internal/attacktest"
	"github.com/factory-dev/factory/investigate"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// workGo is a function that does its work `times` times.
func workGo(times int) string {
	return fmt.Sprintf(`package p

var sink uint64

// Work hashes a fixed buffer %d time(s).
func Work() uint64 {
	var h uint64 = 14695981039346656037
	for r := 0; r < %d; r++ {
		for i := 0; i < 20000; i++ {
			h ^= uint64(i)
			h *= 1099511628211
		}
	}
	sink = h
	return h
}
`, times, times)
}

const workTest = `package p

import "testing"

func BenchmarkWork(b *testing.B) {
	for i := 0; i < b.N; i++ {
		Work()
	}
}

func BenchmarkAlloc(b *testing.B) {
	for i := 0; i < b.N; i++ {
		buf := make([]byte, 64)
		sinkBytes = buf
	}
}

var sinkBytes []byte
`

// perfRepo commits Work (fast) and then Work made 3x slower.
func perfRepo(t *testing.T) (repo, fast, slow string) {
	repo = newRepo(t)
	fast = commit(t, repo, "fast", map[string]string{"go.mod": "module ex.com/m\n\ngo 1.22\n", "p/p.go": workGo(1), "p/p_test.go": workTest})
	slow = commit(t, repo, "3x slower", map[string]string{"p/p.go": workGo(3)})
	return repo, fast, slow
}

func TestPerfCompareFindsAThreeTimesSlowerFunction(t *testing.T) {
	if testing.Short() {
		t.Skip("runs benchmarks")
	}
	repo, fast, slow := perfRepo(t)
	ws, c := open(t, repo)
	res, err := investigate.Compare(context.Background(), ws, c, investigate.PerfRequest{Base: fast, Head: slow, Pattern: "Work", Packages: []string{"./p"}, Budget: 5 * time.Minute})
	require.NoError(t, err)
	require.Len(t, res.Benchmarks, 1, res.Table)
	row := res.Benchmarks[0]
	assert.Equal(t, "BenchmarkWork", row.Name)
	assert.Equal(t, investigate.Slower, row.Verdict, res.Table)
	assert.Greater(t, row.DeltaPct, 100.0, res.Table)
	assert.Less(t, row.P, 0.01)
	assert.Contains(t, res.Table, "Work")
	t.Logf("3x slower (%s):\n%s", res.Elapsed, res.Table)
}

// TestPerfCompareIdenticalTreesShowNoChange is the false-alarm check: ten
// comparisons of two identical trees, about two minutes. make bench runs
// it (FACTORY_PERF_POWER=1); make test keeps the 3x case below.
func TestPerfCompareIdenticalTreesShowNoChange(t *testing.T) {
	if os.Getenv("FACTORY_PERF_POWER") == "" {
		t.Skip("the ten-try false-alarm check runs in make bench (FACTORY_PERF_POWER=1)")
	}
	repo, _, slow := perfRepo(t)
	ws, c := open(t, repo)
	alarms := 0
	for i := range 10 {
		res, err := investigate.Compare(context.Background(), ws, c, investigate.PerfRequest{Base: slow, Head: "HEAD", Packages: []string{"./p"}, Mem: i == 0, Budget: 5 * time.Minute})
		require.NoError(t, err)
		require.Len(t, res.Benchmarks, 2, res.Table)
		for _, r := range res.Benchmarks {
			if r.Verdict != investigate.Unchanged {
				alarms++
				t.Logf("try %d false alarm:\n%s", i, res.Table)
			}
		}
		if i == 0 {
			alloc := res.Benchmarks[0]
			require.Equal(t, "BenchmarkAlloc", alloc.Name)
			require.NotNil(t, alloc.BaseAllocs, "allocs/op where reported")
			assert.Equal(t, 1.0, *alloc.HeadAllocs)
			assert.Equal(t, 64.0, *alloc.HeadBytes)
		}
		var rows []string
		for _, r := range res.Benchmarks {
			rows = append(rows, fmt.Sprintf("%s %+.1f%% p=%.3f %s", r.Name, r.DeltaPct, r.P, r.Verdict))
		}
		t.Logf("try %d: %s: %s", i, res.Elapsed, strings.Join(rows, ", "))
	}
	assert.Zero(t, alarms, "identical trees: no significant change")
}

func TestPerfCompareBadInput(t *testing.T) {
	repo, fast, _ := perfRepo(t)
	ws, c := open(t, repo)
	ctx := context.Background()
	for name, req := range map[string]investigate.PerfRequest{
		"no base":        {},
		"budget small":   {Base: fast, Budget: time.Second},
		"budget huge":    {Base: fast, Budget: time.Hour},
		"unknown rev":    {Base: "no-such-branch"},
		"bad rev":        {Base: "HEAD^^"},
		"package escape": {Base: fast, Packages: []string{"../../.."}},
		"no benchmark":   {Base: fast, Pattern: "NoSuchBench", Packages: []string{"./p"}},
	} {
		_, err := investigate.Compare(ctx, ws, c, req)
		require.Error(t, err, name)
		assert.Contains(t, []string{factory.EINVALID, factory.ENOTFOUND}, factory.ErrorCode(err), "%s: %v", name, err)
	}
}

// attack: a benchmark in head writes into the live tree's path and its git hooks while being measured -> the run is confined to an isolated copy, so the live tree and .git stay byte-identical
func TestAttackPerfBenchmarkWritesTheLiveTree(t *testing.T) {
	if testing.Short() {
		t.Skip("runs benchmarks")
	}
	repo, fast, _ := perfRepo(t)
	evil := fmt.Sprintf(`package p

import (
	"os"
	"testing"
)

func BenchmarkWork(b *testing.B) {
	os.WriteFile(%q, []byte("x"), 0o644)
	os.WriteFile(%q, []byte("#!/bin/sh\necho pwned\n"), 0o755)
	os.WriteFile(%q, []byte("package p\n"), 0o644)
	for i := 0; i < b.N; i++ {
		Work()
	}
}
`, filepath.Join(repo, "pwned"), filepath.Join(repo, ".git", "hooks", "pre-commit"), filepath.Join(repo, "p", "p.go"))
	evilCommit := commit(t, repo, "evil bench", map[string]string{"p/p_test.go": evil})
	ws, c := open(t, repo)
	before := attacktest.Take(t, hostState(repo)...)
	res, err := investigate.Compare(context.Background(), ws, c, investigate.PerfRequest{Base: fast, Head: evilCommit, Pattern: "Work", Packages: []string{"./p"}, Budget: 5 * time.Minute})
	require.NoError(t, err)
	require.Len(t, res.Benchmarks, 1)
	attacktest.Unchanged(t, before, hostState(repo)...)
}

// attack: make the function twice slower, at the edge of the costs whose
// sides share one iteration count, hoping the count sized for the faster
// side hides it -> it is reported slower and significant, and the live
// tree and .git stay byte-identical
func TestAttackPerfTwiceSlowerUnderASharedCount(t *testing.T) {
	if testing.Short() {
		t.Skip("runs benchmarks")
	}
	repo, fast, _ := perfRepo(t)
	twice := commit(t, repo, "2x slower", map[string]string{"p/p.go": workGo(2)})
	ws, c := open(t, repo)
	before := attacktest.Take(t, hostState(repo)...)
	res, err := investigate.Compare(context.Background(), ws, c, investigate.PerfRequest{Base: fast, Head: twice, Pattern: "Work", Packages: []string{"./p"}, Budget: 5 * time.Minute})
	require.NoError(t, err)
	require.Len(t, res.Benchmarks, 1, res.Table)
	row := res.Benchmarks[0]
	assert.Equal(t, investigate.Slower, row.Verdict, res.Table)
	assert.Greater(t, row.DeltaPct, 50.0, res.Table)
	assert.Less(t, row.P, 0.01, res.Table)
	t.Logf("2x slower (%s):\n%s", res.Elapsed, res.Table)
	attacktest.Unchanged(t, before, hostState(repo)...)
}
