package testrun_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
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

// ecosystem is one of the fixture projects under examples/, run for real:
// its suite as init detects it, in the sandbox, with the dependencies
// from the gitignored directories of the live tree.
type ecosystem struct {
	name    string // directory under examples/
	runner  string // what the detected suite's argv must hold
	total   int    // tests the fixture has
	one     string // a test name to narrow to
	oneRan  string // the key of that test in the report's Ran
	file    string // a test file to break ...
	from    string // ... by replacing this
	to      string // ... with this
	failAt  string // the failure's file
	line    int    // and line
	message string // and what its message holds
	flaky   [2]string
	verbose []string // the runner's own verbose command, for the size of what it prints
}

var ecosystems = []ecosystem{
	{name: "node-vitest", runner: "node_modules/.bin/vitest", total: 3, one: "adds cents", oneRan: "test/money.test.ts.add > adds cents",
		verbose: []string{"node_modules/.bin/vitest", "run", "--reporter=verbose"},
		file:    "test/money.test.ts", from: "toBe(400)", to: "toBe(401)", failAt: "test/money.test.ts", line: 6, message: "expected 400 to be 401",
		flaky: [2]string{"test/flaky.test.ts", `import { test } from "vitest";
import { existsSync, writeFileSync } from "node:fs";

test("flaky", () => {
  const seen = existsSync(".flaky-ran");
  writeFileSync(".flaky-ran", "");
  if (!seen) throw new Error("first run fails");
});
`}},
	{name: "py-pytest", runner: ".venv/bin/python", total: 3, one: "test_take_removes", oneRan: "tests.test_inventory.test_take_removes",
		verbose: []string{".venv/bin/python", "-m", "pytest", "-v", "-p", "no:cacheprovider"},
		file:    "tests/test_inventory.py", from: `== {"nut": 3}`, to: `== {"nut": 4}`, failAt: "tests/test_inventory.py", line: 7,
		message: "assert {'nut': 3} == {'nut': 4}",
		flaky: [2]string{"tests/test_flaky.py", `import os


def test_flaky():
    seen = os.path.exists(".flaky-ran")
    open(".flaky-ran", "w").close()
    assert seen, "first run fails"
`}},
	{name: "rust-cargo", runner: "cargo", total: 4, one: "balance_sums", oneRan: "src/lib.rs.tests::balance_sums",
		verbose: []string{"cargo", "test", "--offline", "--no-fail-fast"},
		file:    "src/lib.rs", from: "13);", to: "14);", failAt: "src/lib.rs", line: 17, message: "(left: 13, right: 14)",
		flaky: [2]string{"tests/flaky.rs", `#[test]
fn flaky() {
    let seen = std::path::Path::new(".flaky-ran").exists();
    std::fs::write(".flaky-ran", "").unwrap();
    assert!(seen, "first run fails");
}
`}},
}

// ecosystemRepo copies examples/<name> (its tracked files) into a new git
// repository and gives it its dependencies the way a developer has them:
// node_modules installed (hard links to the one make deps installed), a
// .venv, a built target directory; all gitignored, so no snapshot and no
// copy holds them. It skips when the toolchain is absent.
func ecosystemRepo(t testing.TB, name string) *sandbox.Workspace {
	t.Helper()
	src := filepath.Join("..", "..", "examples", name)
	dir := filepath.Join(t.TempDir(), "repo")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	out, err := exec.Command("git", "-C", src, "ls-files", "-co", "--exclude-standard").Output()
	require.NoError(t, err)
	for _, f := range strings.Fields(string(out)) {
		b, err := os.ReadFile(filepath.Join(src, f))
		require.NoError(t, err)
		require.NoError(t, os.MkdirAll(filepath.Dir(filepath.Join(dir, f)), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, f), b, 0o644))
	}
	w := commitAndOpen(t, dir)
	switch name {
	case "node-vitest":
		if _, err := exec.LookPath("node"); err != nil {
			t.Skip("node is not installed: the vitest fixture cannot run")
		}
		nm, _ := filepath.Abs(filepath.Join(src, "node_modules"))
		if _, err := os.Stat(filepath.Join(nm, ".bin", "vitest")); err != nil {
			t.Fatalf("%s has no vitest: run make deps (npm ci in examples/node-vitest)", nm)
		}
		// Hard links where the file system allows, a copy elsewhere.
		if exec.Command("cp", "-al", nm, filepath.Join(dir, "node_modules")).Run() != nil {
			require.NoError(t, os.RemoveAll(filepath.Join(dir, "node_modules")))
			run(t, dir, "cp", "-a", nm, filepath.Join(dir, "node_modules"))
		}
	case "py-pytest":
		if _, err := os.Stat("/usr/bin/python3"); err != nil {
			t.Skip("no /usr/bin/python3: the pytest fixture cannot run")
		}
		if exec.Command("/usr/bin/python3", "-c", "import pytest").Run() != nil {
			t.Fatal("/usr/bin/python3 cannot import pytest: run make deps (apt-get install python3-pytest)")
		}
		run(t, dir, "/usr/bin/python3", "-m", "venv", "--system-site-packages", "--without-pip", ".venv")
	case "rust-cargo":
		if _, err := exec.LookPath("cargo"); err != nil {
			t.Skip("cargo is not installed: the Rust fixture cannot run")
		}
		run(t, dir, "cargo", "build", "--tests", "--offline", "-q")
	}
	return w
}

func jsonOf(t testing.TB, v any) string {
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}

func run(t testing.TB, dir string, argv ...string) {
	t.Helper()
	c := exec.Command(argv[0], argv[1:]...)
	c.Dir = dir
	out, err := c.CombinedOutput()
	require.NoError(t, err, "%v: %s", argv, out)
}

func detected(t testing.TB, w *sandbox.Workspace, e ecosystem) factory.Suite {
	t.Helper()
	suites := testrun.DetectSuites(w.Root())
	require.Len(t, suites, 1, "%+v", suites)
	s := suites[0]
	assert.Equal(t, e.runner, s.Run[0], "%v", s.Run)
	return s
}

// Each fixture project: init's detection finds its suite; it passes in the
// sandbox with the dependencies from the ignored directories; narrowing by
// name runs that test only (the rest is not counted, even where the runner
// reports it skipped); a broken test is named with its file, line and
// message; a test that fails every other run is called flaky after the
// per-test reruns.
func TestEcosystemFixtures(t *testing.T) {
	for _, e := range ecosystems {
		t.Run(e.name, func(t *testing.T) {
			w := ecosystemRepo(t, e.name)
			s := detected(t, w, e)

			rep, log := runOrSkip(t, w, testrun.Job{Suite: s})
			require.Equal(t, factory.TestPass, rep.Status, "%v\n%s", rep.Notes, log)
			assert.Equal(t, e.total, rep.Counts.Total-rep.Counts.Skipped, "%s", log)
			// After a first run made factory's own state in .git: what
			// changes afterwards would be the runs' doing.
			before := attacktest.Take(t, w.Root())

			rep, log = runOrSkip(t, w, testrun.Job{Suite: s, Request: factory.TestRequest{Test: e.one}})
			require.Equal(t, factory.TestPass, rep.Status, "%v\n%s", rep.Notes, log)
			assert.Equal(t, factory.TestCounts{Total: 1, Passed: 1}, rep.Counts, "%s", log)
			assert.Equal(t, []string{e.oneRan}, rep.Ran)
			attacktest.Unchanged(t, before, w.Root())

			p := filepath.Join(w.Root(), e.file)
			b, err := os.ReadFile(p)
			require.NoError(t, err)
			require.Contains(t, string(b), e.from)
			require.NoError(t, os.WriteFile(p, []byte(strings.Replace(string(b), e.from, e.to, 1)), 0o644))
			rep, log = runOrSkip(t, w, testrun.Job{Suite: s, Request: factory.TestRequest{Reruns: 1}})
			require.Equal(t, factory.TestFail, rep.Status, "%v\n%s", rep.Notes, log)
			require.Len(t, rep.Failures, 1, "%s", log)
			f := rep.Failures[0]
			t.Logf("the failure as the agent reads it: %s", jsonOf(t, f))
			assert.Equal(t, e.failAt, f.File, "%+v", f)
			assert.Equal(t, e.line, f.Line, "%+v", f)
			assert.Contains(t, f.Message, e.message, "%+v", f)
			assert.Empty(t, rep.Flaky, "a test that fails every time is not flaky")
			require.NoError(t, os.WriteFile(p, b, 0o644))

			fp := filepath.Join(w.Root(), e.flaky[0])
			require.NoError(t, os.WriteFile(fp, []byte(e.flaky[1]), 0o644))
			rep, log = runOrSkip(t, w, testrun.Job{Suite: s})
			require.Equal(t, factory.TestPass, rep.Status, "%v\n%s", rep.Notes, log)
			require.Len(t, rep.Flaky, 1, "%s", log)
			assert.Contains(t, rep.Flaky[0].Name, "flaky")
			assert.Contains(t, string(log), "rerun 1 of", "the flaky test was rerun alone")
			assert.NoFileExists(t, filepath.Join(w.Root(), ".flaky-ran"), "the runs wrote only in their copies")
		})
	}
}

// attack: a suite run in a copy deletes a package from the node_modules
// it sees, overwrites node_modules/.bin/vitest and writes a cache there ->
// the writes land in a discarded layer: the live node_modules is
// byte-identical and the next run finds vitest whole and passes
func TestAttackSuiteWritesLiveNodeModules(t *testing.T) {
	for _, mode := range isolationModes(t) {
		t.Run(mode, func(t *testing.T) {
			w := ecosystemRepo(t, "node-vitest")
			s := detected(t, w, ecosystems[0])
			pol := factory.SandboxPolicy{Isolation: mode}
			nm := filepath.Join(w.Root(), "node_modules")
			before := attacktest.Take(t, nm)
			rep, log := runOrSkip(t, w, testrun.Job{Suite: factory.Suite{Name: "poke", Format: factory.FormatExitCode,
				Run: []string{"/bin/sh", "-c", "ls node_modules/.bin/vitest && rm -rf node_modules/vitest node_modules/.bin/vitest && echo x > node_modules/.bin/vitest && mkdir -p node_modules/.vite/x"}},
				Policy: pol})
			require.Equal(t, factory.TestPass, rep.Status, "%s", log)
			attacktest.Unchanged(t, before, nm)
			// The suite's program itself lives in node_modules, under
			// either isolation.
			rep, log = runOrSkip(t, w, testrun.Job{Suite: s, Policy: pol})
			require.Equal(t, factory.TestPass, rep.Status, "%s", log)
			assert.Equal(t, mode, rep.Isolation)
			attacktest.Unchanged(t, before, nm)
		})
	}
}

// node --test reports the tests its name pattern left out as skipped:
// they did not run, and are not counted.
func TestNodeNameFilterCountsOnlyWhatRan(t *testing.T) {
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("node not installed")
	}
	w := fixtureRepo(t, "nodeproj")
	s := testrun.DetectSuites(w.Root())[0]
	rep, log := runOrSkip(t, w, testrun.Job{Suite: s, Request: factory.TestRequest{Test: "^adds$"}})
	require.Equal(t, factory.TestPass, rep.Status, "%v\n%s", rep.Notes, log)
	assert.Equal(t, factory.TestCounts{Total: 1, Passed: 1}, rep.Counts, "%s", log)
	assert.Contains(t, string(log), "--test-name-pattern=^adds$")
}

// A runner that reaches for the network (npx fetching a package the
// project never installed) fails in the sandbox, at once (npm is told it
// is offline): the report says so and what to run in the workspace.
func TestNetworkReachSaysWhatToInstall(t *testing.T) {
	if _, err := exec.LookPath("npx"); err != nil {
		t.Skip("npx not installed")
	}
	w := fixtureRepo(t, "nodeproj")
	rep, log := runOrSkip(t, w, testrun.Job{Suite: factory.Suite{Name: "npx", Format: factory.FormatExitCode,
		Run: []string{"npx", "--yes", "factory-no-such-package-t14@1.0.0"}},
		Request: factory.TestRequest{Reruns: -1}})
	require.NotEqual(t, factory.TestPass, rep.Status, "%s", log)
	notes := strings.Join(rep.Notes, "\n")
	assert.Contains(t, notes, "the runner tried the network", "%s", log)
	assert.Contains(t, notes, "npm ci")
}

// BenchmarkEcosystems measures, for each fixture project, test_run's way
// (Runner.Run: a snapshot, an isolated copy at the live path, the
// dependency overlays, the confined run, the report) against the same
// command run directly in the workspace: 5 rounds, interleaved, per
// iteration; medians with min and max, and their ratio. Then the size of
// the report of a run with one failing test (JSON, as the agent gets it)
// against what the runner itself prints in its verbose mode.
func BenchmarkEcosystems(b *testing.B) {
	for _, e := range ecosystems {
		b.Run(e.name, func(b *testing.B) {
			w := ecosystemRepo(b, e.name)
			s := detected(b, w, e)
			rn := testrun.New(w)
			job := testrun.Job{Suite: s, Request: factory.TestRequest{Reruns: -1}}
			direct := func(argv []string) (time.Duration, int) {
				c := exec.Command(argv[0], argv[1:]...)
				c.Dir = w.Root()
				start := time.Now()
				out, _ := c.CombinedOutput()
				return time.Since(start), len(out)
			}
			sandboxed := func() (time.Duration, factory.TestReport) {
				start := time.Now()
				rep, _, err := rn.Run(context.Background(), job)
				require.NoError(b, err)
				return time.Since(start), rep
			}
			for i := 0; i < b.N; i++ {
				var ds, rs []time.Duration
				for range 5 {
					d, _ := direct(s.Run)
					r, rep := sandboxed()
					require.Equal(b, factory.TestPass, rep.Status)
					ds, rs = append(ds, d), append(rs, r)
				}
				slices.Sort(ds)
				slices.Sort(rs)
				ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
				b.ReportMetric(ms(ds[2]), "direct-ms")
				b.ReportMetric(ms(rs[2]), "test_run-ms")
				b.ReportMetric(ms(rs[0]), "test_run-min-ms")
				b.ReportMetric(ms(rs[4]), "test_run-max-ms")
				b.ReportMetric(ms(ds[0]), "direct-min-ms")
				b.ReportMetric(ms(ds[4]), "direct-max-ms")
				b.ReportMetric(ms(rs[2]-ds[2]), "overhead-ms")
				b.ReportMetric(float64(rs[2])/float64(ds[2]), "ratio")
			}
			b.StopTimer()
			p := filepath.Join(w.Root(), e.file)
			src, err := os.ReadFile(p)
			require.NoError(b, err)
			require.NoError(b, os.WriteFile(p, []byte(strings.Replace(string(src), e.from, e.to, 1)), 0o644))
			defer os.WriteFile(p, src, 0o644)
			_, rep := sandboxed()
			require.Equal(b, factory.TestFail, rep.Status)
			_, verbose := direct(e.verbose)
			b.ReportMetric(float64(len(jsonOf(b, rep))), "report-bytes")
			b.ReportMetric(float64(verbose), "verbose-bytes")
		})
	}
}

// attack: the live tree's Rust sources are changed and built after the
// snapshot under test was copied, so the copy's sources look older than
// the live target's binaries -> cargo in the copy still rebuilds what
// differs: the snapshot's own code is what the run tests, and the live
// target is byte-identical afterwards
func TestAttackStaleTargetTakenForBuilt(t *testing.T) {
	w := ecosystemRepo(t, "rust-cargo")
	s := detected(t, w, ecosystems[2])
	head := gittest.Run(t, w.Root(), "rev-parse", "HEAD")
	// The snapshot's tree is materialised now, before the live build.
	rep, log := runOrSkip(t, w, testrun.Job{Suite: s, Request: factory.TestRequest{Snapshot: strings.TrimSpace(head), Reruns: -1}})
	require.Equal(t, factory.TestPass, rep.Status, "%s", log)

	p := filepath.Join(w.Root(), "src", "lib.rs")
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(p, []byte(strings.Replace(string(b), "entries.iter().sum()", "entries.iter().sum::<i64>() + 1", 1)), 0o644))
	run(t, w.Root(), "cargo", "build", "--tests", "--offline", "-q")
	target := filepath.Join(w.Root(), "target")
	before := attacktest.Take(t, target)

	rep, log = runOrSkip(t, w, testrun.Job{Suite: s, Request: factory.TestRequest{Snapshot: strings.TrimSpace(head), Reruns: -1}})
	assert.Equal(t, factory.TestPass, rep.Status, "the snapshot's code, not the live build, was tested: %s", log)
	rep, log = runOrSkip(t, w, testrun.Job{Suite: s, Request: factory.TestRequest{Reruns: -1}})
	assert.Equal(t, factory.TestFail, rep.Status, "the live tree's change is what a live run tests: %s", log)
	attacktest.Unchanged(t, before, target)
}
