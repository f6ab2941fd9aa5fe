package testrun_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/factory-dev/factory"
	"github.com/factory-dev/factory/internal/attacktest"
	"github.com/factory-dev/factory/sandbox"
	"github.com/factory-dev/factory/sandbox/testrun"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// goRepo makes a committed git repository of module example.com/m with
// files (path -> content) and opens it.
func goRepo(t *testing.T, files map[string]string) *sandbox.Workspace {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "repo")
	files["go.mod"] = "module example.com/m\n\ngo 1.22\n"
	for p, c := range files {
		require.NoError(t, os.MkdirAll(filepath.Dir(filepath.Join(dir, p)), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, p), []byte(c), 0o644))
	}
	return commitAndOpen(t, dir)
}

var crashSuite = factory.Suite{
	Name: "unit", Run: []string{"go", "test", "-json", "-count=1", "-p", "1", "./..."},
	Format: factory.FormatGoJSON, Timeout: 3 * time.Minute,
}

// runCrash runs crashSuite on w without flaky reruns and checks that the
// live tree and .git are untouched.
func runCrash(t *testing.T, w *sandbox.Workspace) (factory.TestReport, string) {
	t.Helper()
	before := warmTake(t, w)
	rep, log := runOrSkip(t, w, testrun.Job{Suite: crashSuite, Request: factory.TestRequest{Reruns: -1}})
	attacktest.Unchanged(t, before, w.Root())
	return rep, string(log)
}

// warmTake fingerprints w's tree after a harmless run: factory keeps its
// own state in .git (the snapshot of the tree), which that run makes
// first, so the fingerprint catches only the suite's doing.
func warmTake(t *testing.T, w *sandbox.Workspace) attacktest.State {
	t.Helper()
	runOrSkip(t, w, testrun.Job{
		Suite:   factory.Suite{Name: "warm", Run: []string{"/bin/true"}, Format: factory.FormatExitCode},
		Request: factory.TestRequest{Reruns: -1},
	})
	return attacktest.Take(t, w.Root())
}

func failureByName(t *testing.T, rep factory.TestReport, name string) factory.TestFailure {
	t.Helper()
	for _, f := range rep.Failures {
		if f.Name == name {
			return f
		}
	}
	t.Fatalf("no failure %s in %v", name, failureNames(rep.Failures))
	return factory.TestFailure{}
}

// TestFirstTestPanics is the case: the first test of a package
// panics; the report names it as crashed and still has every later test.
func TestFirstTestPanics(t *testing.T) {
	w := goRepo(t, map[string]string{
		"p/p_test.go": `package p

import "testing"

func TestBoom(t *testing.T) { var m map[string]int; m["x"] = 1 }
func TestFine(t *testing.T) {}
func TestBroken(t *testing.T) { t.Fatal("want 1, got 2") }
func TestSkipped(t *testing.T) { t.Skip("later") }
func TestSubs(t *testing.T) { t.Run("a", func(t *testing.T) {}) }
`,
		"q/q_test.go": "package q\n\nimport \"testing\"\n\nfunc TestQ(t *testing.T) {}\n",
	})
	rep, log := runCrash(t, w)
	assert.Equal(t, factory.TestFail, rep.Status)
	boom := failureByName(t, rep, "TestBoom")
	assert.True(t, boom.Crashed)
	assert.Contains(t, boom.Message, "panic: assignment to entry in nil map")
	broken := failureByName(t, rep, "TestBroken")
	assert.False(t, broken.Crashed)
	assert.Equal(t, "want 1, got 2", broken.Message)
	assert.Len(t, rep.Failures, 2)
	// TestBoom, TestFine, TestBroken, TestSkipped, TestSubs, TestSubs/a, TestQ
	assert.Equal(t, factory.TestCounts{Total: 7, Passed: 4, Failed: 2, Skipped: 1}, rep.Counts)
	assert.Contains(t, strings.Join(rep.Notes, "\n"), "TestBoom crashed the test binary of example.com/m/p", log)
	assert.Contains(t, log, "-run ^(TestBroken|TestFine|TestSkipped|TestSubs)$")
}

// attack: a test panics so that the failing tests after it never run and the report shows one failure of a test the agent can blame on flakiness -> the later tests run again without it; their failures are reported and the status is fail
func TestAttackPanicHidesLaterFailures(t *testing.T) {
	w := goRepo(t, map[string]string{
		"p/p_test.go": `package p

import "testing"

func TestA1(t *testing.T) { panic("hide the rest") }
func TestA2(t *testing.T) { panic("and again") }
func TestA3(t *testing.T) { t.Error("the real bug: got 3, want 4") }
func TestA4(t *testing.T) { t.Run("deep", func(t *testing.T) { panic("once more") }) }
func TestA5(t *testing.T) { t.Error("the other bug: mismatch") }
`,
	})
	rep, log := runCrash(t, w)
	require.Equal(t, factory.TestFail, rep.Status, "%+v\n%s", rep, log)
	// TestA4 failed by itself (the panic is in its output) and through its subtest: both are listed.
	assert.ElementsMatch(t, []string{"TestA1", "TestA2", "TestA3", "TestA4", "TestA4/deep", "TestA5"}, failureNames(rep.Failures))
	for _, n := range []string{"TestA1", "TestA2", "TestA4"} {
		assert.True(t, failureByName(t, rep, n).Crashed, n)
	}
	assert.False(t, failureByName(t, rep, "TestA5").Crashed)
	assert.Equal(t, len(rep.Failures), rep.Counts.Failed)
}

// attack: a test calls os.Exit(0) midway so that the binary ends "cleanly" and the tests after it, one of them failing, never run -> the exit is reported as a crash, the later tests run without it, and the failure is reported
func TestAttackOsExitHidesLaterTests(t *testing.T) {
	w := goRepo(t, map[string]string{
		"p/p_test.go": `package p

import (
	"os"
	"testing"
)

func TestOK(t *testing.T) {}
func TestLeave(t *testing.T) { os.Exit(0) }
func TestHidden(t *testing.T) { t.Error("hidden failure: want ok") }
`,
	})
	rep, log := runCrash(t, w)
	require.Equal(t, factory.TestFail, rep.Status, "%+v\n%s", rep, log)
	assert.True(t, failureByName(t, rep, "TestLeave").Crashed)
	assert.Equal(t, "hidden failure: want ok", failureByName(t, rep, "TestHidden").Message)
	assert.Equal(t, 3, rep.Counts.Total)
}

// attack: TestMain exits before any test after a first run crashed, so a rerun can never make progress -> the reruns stop at once (bounded) with a note naming the tests that never ran, and the status stays fail
func TestAttackCrashRerunsAreBounded(t *testing.T) {
	w := goRepo(t, map[string]string{
		"p/p_test.go": `package p

import (
	"os"
	"testing"
)

func TestMain(m *testing.M) {
	if _, err := os.Stat("ran-once"); err == nil {
		os.Exit(0)
	}
	os.WriteFile("ran-once", nil, 0o644)
	os.Exit(m.Run())
}
func TestBoom(t *testing.T) { panic("boom") }
func TestNever(t *testing.T) { t.Error("never seen") }
`,
	})
	rep, log := runCrash(t, w)
	require.Equal(t, factory.TestFail, rep.Status, "%+v\n%s", rep, log)
	assert.True(t, failureByName(t, rep, "TestBoom").Crashed)
	assert.Contains(t, strings.Join(rep.Notes, "\n"), "ran none of the 1 tests left (TestNever)")
}

// attack: on a base where a crash hides an old failing test, the change (which keeps both) is blamed for the hidden test as a new failure, or the change moves the crash so a hidden failure looks old -> the baseline runs the hidden tests too; only the change's own new failure is new
func TestAttackCrashOnBaselineHidesOldFailures(t *testing.T) {
	w := goRepo(t, map[string]string{
		"p/p_test.go": `package p

import "testing"

func TestBoom(t *testing.T) { panic("boom") }
func TestOld(t *testing.T) { t.Error("old bug: want 1") }
`,
	})
	ctx := context.Background()
	base, err := w.Snapshot(ctx, "base")
	require.NoError(t, err)
	extra := "package p\n\nimport \"testing\"\n\nfunc TestNew(t *testing.T) { t.Error(\"new bug: want 2\") }\n"
	require.NoError(t, os.WriteFile(filepath.Join(w.Root(), "p", "new_test.go"), []byte(extra), 0o644))
	before := warmTake(t, w)
	rep, log, err := testrun.New(w).Run(ctx, testrun.Job{Suite: crashSuite, Request: factory.TestRequest{Reruns: -1, Baseline: base.ID}})
	require.NoError(t, err)
	attacktest.Unchanged(t, before, w.Root())
	assert.Equal(t, factory.TestFail, rep.Status)
	assert.ElementsMatch(t, []string{"TestBoom", "TestOld", "TestNew"}, failureNames(rep.Failures))
	assert.Equal(t, []string{"example.com/m/p.TestNew"}, rep.NewFailures, "%s", log)
}
