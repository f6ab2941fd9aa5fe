package testrun_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/factory-dev/factory"
	"github.com/factory-dev/factory/internal/attacktest"
	"github.com/factory-dev/factory/internal/gittest"
	"github.com/factory-dev/factory/sandbox"
	"github.com/factory-dev/factory/sandbox/testrun"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// everyOtherRepo is a module whose one test passes on odd runs and fails
// on even ones, counting its runs in the file $RUNS outside the tree.
func everyOtherRepo(t *testing.T) (w *sandbox.Workspace, dir, runs string) {
	t.Helper()
	dir = filepath.Join(t.TempDir(), "repo")
	files := map[string]string{
		"go.mod": "module example.com/everyother\n\ngo 1.22\n",
		"alt/alt_test.go": `package alt

import (
	"os"
	"strconv"
	"testing"
)

func TestEveryOther(t *testing.T) {
	p := os.Getenv("RUNS")
	b, _ := os.ReadFile(p)
	n, _ := strconv.Atoi(string(b))
	n++
	if err := os.WriteFile(p, []byte(strconv.Itoa(n)), 0o644); err != nil {
		t.Fatal(err)
	}
	if n%2 == 0 {
		t.Fatalf("run %d fails", n)
	}
}
`,
	}
	for p, c := range files {
		require.NoError(t, os.MkdirAll(filepath.Dir(filepath.Join(dir, p)), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, p), []byte(c), 0o644))
	}
	gittest.Run(t, dir, "init", "-q")
	gittest.Run(t, dir, "add", "-A")
	gittest.Run(t, dir, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "fixture")
	w, err := sandbox.Open(context.Background(), sandbox.Config{Root: dir})
	require.NoError(t, err)
	runsDir := t.TempDir()
	return w, dir, filepath.Join(runsDir, "runs")
}

func readRuns(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	return string(b)
}

// attack: a test that fails every other run leans on go's test cache, so
// the second run and its reruns replay the first pass -> every run and
// rerun really runs (-count=1 is added): the second run fails, its rerun
// passes, and the report calls the test flaky; the tree is untouched
func TestAttackCachedRunsAreNotRuns(t *testing.T) {
	for name, argv := range map[string][]string{
		"go test":          {"go", "test", "-json", "./..."},
		"go test a script": {"sh", "-c", "go test -json ./..."}, // GOFLAGS=-count=1 reaches it
	} {
		t.Run(name, func(t *testing.T) {
			w, dir, runs := everyOtherRepo(t)
			// the tree and the branch; the sandbox's own snapshot refs are its state
			watched := []string{filepath.Join(dir, "go.mod"), filepath.Join(dir, "alt"), filepath.Join(dir, ".git", "HEAD"), filepath.Join(dir, ".git", "refs", "heads")}
			before := attacktest.Take(t, watched...)
			suite := factory.Suite{Name: "unit", Run: argv, Format: factory.FormatGoJSON, Timeout: 3 * time.Minute,
				Env: map[string]string{"RUNS": runs}}
			tr := testrun.Job{Suite: suite, Policy: factory.SandboxPolicy{Writable: []string{filepath.Dir(runs)}}}

			first, log1 := runOrSkip(t, w, tr)
			require.Equal(t, factory.TestPass, first.Status, "%+v\n%s", first, log1)
			assert.Equal(t, "1", readRuns(t, runs))

			second, log2 := runOrSkip(t, w, tr)
			assert.NotContains(t, string(log2), "(cached)")
			assert.Empty(t, second.Cached)
			assert.Equal(t, "3", readRuns(t, runs), "the second run and its rerun both ran")
			require.Len(t, second.Flaky, 1, "%+v\n%s", second, log2)
			assert.Equal(t, "TestEveryOther", second.Flaky[0].Name)
			assert.Equal(t, []string{"example.com/everyother/alt.TestEveryOther"}, second.Ran)
			attacktest.Unchanged(t, before, watched...)
		})
	}
}

// A result go test took from its cache is reported as such and not
// counted as a run, whoever ran go test without -count=1.
func TestRunTestsMarksCachedPackages(t *testing.T) {
	w, dir, runs := everyOtherRepo(t)
	env := append(os.Environ(), "RUNS="+runs)
	for range 2 { // the second answers from the cache
		cmd := exec.Command("go", "test", "-json", "./...")
		cmd.Dir, cmd.Env = dir, env
		out, err := cmd.CombinedOutput()
		if strings.Contains(string(out), "(cached)") {
			break
		}
		require.NoError(t, err, string(out))
	}
	// the sandbox's own run cannot be cached; a suite that replays a cached
	// log shows what the parser does with one
	cached := filepath.Join(dir, "cached.json")
	cmd := exec.Command("go", "test", "-json", "./...")
	cmd.Dir, cmd.Env = dir, env
	out, err := cmd.Output()
	require.NoError(t, err)
	require.Contains(t, string(out), "(cached)", "go test answered from its cache")
	require.NoError(t, os.WriteFile(cached, out, 0o644))
	gittest.Run(t, dir, "add", "cached.json")
	gittest.Run(t, dir, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "log")
	rep, _ := runOrSkip(t, w, testrun.Job{Suite: factory.Suite{Name: "replay", Run: []string{"cat", "cached.json"}, Format: factory.FormatGoJSON}})
	assert.Equal(t, []string{"example.com/everyother/alt"}, rep.Cached)
	assert.Zero(t, rep.Counts.Total, "a cached result is not a run")
	assert.Empty(t, rep.Ran)
	assert.Equal(t, factory.TestError, rep.Status)
	assert.Contains(t, strings.Join(rep.Notes, "\n"), "answered from go's test cache")
}
