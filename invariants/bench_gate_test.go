package invariants_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/factory-dev/factory"
	"github.com/factory-dev/factory/internal/attacktest"
	"github.com/factory-dev/factory/invariants"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// benchFixture is a module whose work.Sum costs about n nanoseconds and
// whose BenchmarkSum measures Sum(1000), gated by a 15% budget.
func benchFixture(t *testing.T, gate string) string {
	t.Helper()
	src := t.TempDir()
	invariants.WriteFilesForTest(t, src, map[string]string{
		"go.mod":       "module example.com/fx\n\ngo 1.22\n",
		"work/work.go": "package work\n\n// Sum mixes n rounds of an xorshift.\nfunc Sum(n int) uint64 {\n\tx := uint64(88172645463325252)\n\tfor i := 0; i < n; i++ {\n\t\tx ^= x << 13\n\t\tx ^= x >> 7\n\t\tx ^= x << 17\n\t}\n\treturn x\n}\n",
		"work/work_test.go": "package work\n\nimport \"testing\"\n\nfunc TestSum(t *testing.T) {\n\tif Sum(3) == Sum(4) {\n\t\tt.Fatal(\"no mixing\")\n\t}\n}\n\nvar sink uint64\n\n" +
			"func BenchmarkSum(b *testing.B) {\n\tfor i := 0; i < b.N; i++ {\n\t\tsink += Sum(1000)\n\t}\n}\n",
		"factory.yaml": "version: 1\ngates:\n  perf: " + gate + "\ninvariants:\n  - {id: fast, max_regression: {bench: BenchmarkSum, percent: 15}}\n",
	})
	return invariants.RepoFromForTest(t, src)
}

// proposeBench proposes edit on repo and returns the fast verdict,
// checking that a rejected change left the live tree and .git as they were.
func proposeBench(t *testing.T, repo string, edit func(dir string)) (factory.Verdict, invariants.ProposeResult) {
	t.Helper()
	_, c, _, _ := openSandbox(t, repo)
	patch := invariants.MakePatchForTest(t, repo, edit)
	// the live tree and what git knows of it (factory's own records
	// under .git/factory and new objects may grow)
	var watched []string
	for _, p := range []string{"go.mod", "work", "factory.yaml", ".git/HEAD", ".git/refs/heads", ".git/refs/tags", ".git/index", ".git/config", ".git/hooks"} {
		watched = append(watched, filepath.Join(repo, p))
	}
	before := attacktest.Take(t, watched...)
	res, err := c.Propose(context.Background(), invariants.ProposeRequest{Patch: patch})
	require.NoError(t, err)
	if !res.Accepted {
		attacktest.Unchanged(t, before, watched...)
	}
	for _, v := range res.Verdicts {
		if v.ID == "fast" {
			t.Logf("%s: %s; %s", v.Status, v.Message, strings.Join(v.Evidence, "; "))
			return v, res
		}
	}
	t.Fatalf("no fast verdict: %s %+v", res.Reason, res.Verdicts)
	return factory.Verdict{}, res
}

// slowerSum makes Sum do times its work.
func slowerSum(t *testing.T, times string) func(string) {
	return func(d string) {
		invariants.ReplaceInForTest(t, d, "work/work.go", "i < n;", "i < n*"+times+";")
	}
}

func TestBenchGateRejectsA3xRegression(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs benchmarks")
	}
	repo := benchFixture(t, "{bench: {pattern: BenchmarkSum, packages: [./work]}}")
	v, res := proposeBench(t, repo, slowerSum(t, "3"))
	assert.False(t, res.Accepted)
	assert.Equal(t, factory.VerdictFail, v.Status)
	assert.Contains(t, v.Message, "slower by more than 15%")
}

// A 200x slower result is sized for itself (fewer iterations, not longer
// rounds), so the gate decides within its default budget instead of
// running the fast side's iteration count 200 times slower.
func TestBenchGateRejectsA200xRegressionWithinTheDefaultBudget(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs benchmarks")
	}
	repo := benchFixture(t, "{bench: {pattern: BenchmarkSum, packages: [./work]}}")
	v, res := proposeBench(t, repo, slowerSum(t, "200"))
	assert.False(t, res.Accepted)
	assert.Equal(t, factory.VerdictFail, v.Status, "a gate error would mean the budget ran out: %s", v.Message)
	assert.Contains(t, v.Message, "slower by more than 15%")
}

// A result whose single iteration outlasts the budget fails as "at least
// Nx slower", computed from what was seen before the budget stopped it.
func TestBenchGateStopsAtTheBudgetWithAtLeast(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs benchmarks")
	}
	repo := benchFixture(t, "{bench: {pattern: BenchmarkSum, packages: [./work], budget: 2s}}")
	v, res := proposeBench(t, repo, slowerSum(t, "2000000"))
	assert.False(t, res.Accepted)
	assert.Equal(t, factory.VerdictFail, v.Status, v.Message)
	require.NotEmpty(t, v.Evidence)
	assert.Contains(t, v.Evidence[0], "x slower: the result could not be measured within the gate's budget")
	assert.Contains(t, v.Evidence[0], "BenchmarkSum: ")
}

// attack: make the benchmark skip itself on the result (b.Skip), so no slowdown can be measured -> the gate fails: "BenchmarkSum ran on the baseline but not on the result"
func TestAttackBenchSkippedOnTheResult(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs benchmarks")
	}
	repo := benchFixture(t, "{bench: {pattern: BenchmarkSum, packages: [./work]}}")
	v, res := proposeBench(t, repo, func(d string) {
		slowerSum(t, "3")(d)
		invariants.ReplaceInForTest(t, d, "work/work_test.go", "func BenchmarkSum(b *testing.B) {\n", "func BenchmarkSum(b *testing.B) {\n\tb.Skip(\"flaky\")\n")
	})
	assert.False(t, res.Accepted)
	assert.Equal(t, factory.VerdictFail, v.Status)
	assert.Equal(t, []string{"BenchmarkSum ran on the baseline but not on the result (deleted, renamed, skipped or failing)"}, v.Evidence)
}

// attack: rename the benchmark so the gate's pattern no longer selects it on the result -> the gate fails: the baseline's benchmark did not run on the result
func TestAttackBenchRenamedAway(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs benchmarks")
	}
	repo := benchFixture(t, "{bench: {packages: [./work]}}")
	v, res := proposeBench(t, repo, func(d string) {
		slowerSum(t, "3")(d)
		invariants.ReplaceInForTest(t, d, "work/work_test.go", "func BenchmarkSum(", "func benchmarkSum(")
	})
	assert.False(t, res.Accepted)
	assert.Equal(t, factory.VerdictFail, v.Status)
	assert.Contains(t, strings.Join(v.Evidence, "\n"), "BenchmarkSum ran on the baseline but not on the result")
}

// attack: set b.N = 1 in the benchmark so each run does one iteration while the gate divides by the count it asked for -> rejected: its runs never reach the asked count ("ran 1 iterations, not the N asked") or, calibrating forever, it fails as at least Nx slower at the budget
func TestAttackBenchSetsBN(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs benchmarks")
	}
	// A benchmark that resets b.N never reaches its benchtime, so Go's
	// testing package calibrates it until the budget ends: a short budget
	// keeps the test short without changing what it shows.
	repo := benchFixture(t, "{bench: {pattern: BenchmarkSum, packages: [./work], budget: 8s}}")
	v, res := proposeBench(t, repo, func(d string) {
		slowerSum(t, "3")(d)
		invariants.ReplaceInForTest(t, d, "work/work_test.go", "func BenchmarkSum(b *testing.B) {\n", "func BenchmarkSum(b *testing.B) {\n\tb.N = 1\n")
	})
	assert.False(t, res.Accepted)
	assert.NotEqual(t, factory.VerdictPass, v.Status)
	assert.Regexp(t, `ran 1 iterations, not the|x slower: the result could not be measured`, v.Message+strings.Join(v.Evidence, " "))
}
