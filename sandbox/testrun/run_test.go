package testrun_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/factory-dev/factory"
	"github.com/factory-dev/factory/internal/gittest"
	"github.com/factory-dev/factory/sandbox"
	"github.com/factory-dev/factory/sandbox/proc"
	"github.com/factory-dev/factory/sandbox/testrun"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fixtureRepo copies the fixture project testdata/testrun/<name> into a new
// git repository (committed, so snapshots have a HEAD) and opens it.
func fixtureRepo(t testing.TB, name string) *sandbox.Workspace {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "repo")
	require.NoError(t, os.CopyFS(dir, os.DirFS(filepath.Join("testdata", "testrun", name))))
	return commitAndOpen(t, dir)
}

// commitAndOpen makes dir a git repository with its files committed and
// opens it.
func commitAndOpen(t testing.TB, dir string) *sandbox.Workspace {
	t.Helper()
	gittest.Run(t, dir, "init", "-q")
	gittest.Run(t, dir, "add", "-A")
	gittest.Run(t, dir, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "fixture")
	w, err := sandbox.Open(context.Background(), sandbox.Config{Root: dir})
	require.NoError(t, err)
	return w
}

// isolationModes are the two confinement paths every fixture must pass.
func isolationModes(t *testing.T) []string {
	f := proc.Detect()
	t.Logf("isolation: best=%s bwrap=%v cgroup=%s landlock=%d notes=%v", f.Best, f.BwrapWorks, f.Cgroup, f.Landlock, f.Notes)
	return []string{proc.IsoBwrap, proc.IsoNative}
}

func runOrSkip(t *testing.T, w *sandbox.Workspace, tr testrun.Job) (factory.TestReport, []byte) {
	t.Helper()
	rep, log, err := testrun.New(w).Run(context.Background(), tr)
	if factory.ErrorCode(err) == factory.EUNAVAILABLE {
		t.Skipf("isolation %s unavailable here: %v", tr.Policy.Isolation, err)
	}
	require.NoError(t, err)
	return rep, log
}

func failureNames(fs []factory.TestFailure) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Name)
	}
	return out
}

var goFixtureSuite = factory.Suite{
	Name:    "unit",
	Run:     []string{"go", "test", "-json", "-trimpath", "-count=1", "-p", "1", "./..."},
	Format:  factory.FormatGoJSON,
	Timeout: 3 * time.Minute,
}

// TestRunTestsGoFixture runs the Go fixture module under both isolation
// paths: the report must name exactly the right tests, the flaky test must
// be found flaky, and the probes must show the sandbox held: no network to
// a server outside, a bounded process count, no write outside the copy.
func TestRunTestsGoFixture(t *testing.T) {
	for _, mode := range isolationModes(t) {
		t.Run(mode, func(t *testing.T) {
			w := fixtureRepo(t, "gomod")
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			require.NoError(t, err)
			defer ln.Close()
			var accepted atomic.Int32
			go func() {
				for {
					c, err := ln.Accept()
					if err != nil {
						return
					}
					accepted.Add(1)
					c.Close()
				}
			}()
			outside := t.TempDir()

			s := goFixtureSuite
			s.Env = map[string]string{"FIXTURE_ADDR": ln.Addr().String(), "FIXTURE_FORK": "1", "FIXTURE_OUTSIDE": outside}
			var calls []time.Time
			var mu sync.Mutex
			var lastDone int
			rep, log := runOrSkip(t, w, testrun.Job{
				Suite:   s,
				Policy:  factory.SandboxPolicy{Isolation: mode, Processes: 200},
				Request: factory.TestRequest{Reruns: 1},
				Progress: func(done, total int, msg string) {
					mu.Lock()
					defer mu.Unlock()
					calls = append(calls, time.Now())
					lastDone = done
				},
			})
			if t.Failed() {
				return
			}

			assert.Equal(t, mode, rep.Isolation)
			assert.Equal(t, factory.TestError, rep.Status, "the broken package makes the run an error; notes: %v", rep.Notes)
			require.Len(t, rep.BuildErrors, 1)
			assert.Equal(t, "example.com/fixture/broken", rep.BuildErrors[0].Package)
			assert.Equal(t, "broken/broken.go", rep.BuildErrors[0].File)
			assert.Equal(t, 5, rep.BuildErrors[0].Line)
			assert.Equal(t, "undefined: undeclaredName", rep.BuildErrors[0].Message)

			assert.Equal(t, []string{
				"TestAddFails", "TestTable/one", "TestTable/two",
				"TestParentOwnFailure", "TestParentOwnFailure/child", "TestPanics",
			}, failureNames(rep.Failures))
			assert.Equal(t, []string{"TestFlaky"}, failureNames(rep.Flaky))
			assert.Equal(t, "first run fails", rep.Flaky[0].Message)
			// 216 cases: basic 10 (TestTable, failing only through its
			// subtests, is not counted), bulk 201, panics 3 (TestAfterPanic
			// in the rerun without TestPanics), confine 3; the flaky one and
			// the three probes pass. Failed is the number of failures listed.
			assert.Equal(t, factory.TestCounts{Total: 216, Passed: 209, Failed: 6, Skipped: 1}, rep.Counts)
			assert.True(t, byNameCrashed(rep.Failures, "TestPanics"), "TestPanics ended its binary")

			byName := map[string]factory.TestFailure{}
			for _, f := range rep.Failures {
				byName[f.Name] = f
			}
			assert.Equal(t, "Add(2, 2) = 4, want 5", byName["TestAddFails"].Message)
			assert.Equal(t, "basic/basic_test.go", byName["TestAddFails"].File)
			assert.Equal(t, 20, byName["TestAddFails"].Line)
			assert.Equal(t, 26, byName["TestAddFails"].Omitted)
			assert.Equal(t, "panics/panics_test.go", byName["TestPanics"].File)
			assert.Equal(t, 9, byName["TestPanics"].Line)
			assert.True(t, strings.HasPrefix(byName["TestPanics"].Message, "panic: assignment to entry in nil map"))

			// The probes: nothing got out.
			assert.Zero(t, accepted.Load(), "a test reached the server outside the sandbox")
			assert.NoFileExists(t, filepath.Join(outside, "escaped.txt"))
			fork := regexp.MustCompile(`stopped after (\d+) children: [^"\\]*`).FindString(string(log))
			assert.NotEmpty(t, fork, "the fork loop hit the process limit")
			t.Logf("fork probe: %s", fork)
			assert.NoFileExists(t, filepath.Join(w.Root(), "basic", ".flaky-ran"), "tests ran in a copy, not the live tree")

			assert.Regexp(t, `^t-[0-9a-f]{6}$`, rep.ID)
			assert.NotEmpty(t, rep.Snapshot)
			assert.Equal(t, len(log), rep.LogBytes)
			assert.Contains(t, string(log), "rerun 1 of example.com/fixture/basic TestFlaky")
			assert.Contains(t, string(log), "$ go test -run ^TestTable$/^one$ -json -trimpath -count=1 -p 1 example.com/fixture/basic\n",
				"a failing subtest is rerun alone, anchored per level, in its package")

			mu.Lock()
			defer mu.Unlock()
			require.NotEmpty(t, calls)
			assert.Equal(t, 216, lastDone, "the last call reports the totals")
			for i := 1; i < len(calls)-1; i++ {
				assert.GreaterOrEqual(t, calls[i].Sub(calls[i-1]), 490*time.Millisecond, "progress is rate-limited")
			}
		})
	}
}

// sleeperGone reports whether no process runs `sleep token`.
func sleeperRunning(t *testing.T, token string) bool {
	ents, err := os.ReadDir("/proc")
	require.NoError(t, err)
	want := []byte("sleep\x00" + token + "\x00")
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && bytes.Equal(b, want) {
			return true
		}
	}
	return false
}

// TestRunTestsTimeoutKillsEverything runs a test that sleeps past the
// suite's timeout with a background child: the report says timeout with
// what ran before, and the child is gone when RunTests returns.
func TestRunTestsTimeoutKillsEverything(t *testing.T) {
	t.Parallel() // it mostly waits: let it wait beside other tests
	for _, mode := range isolationModes(t) {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			w := fixtureRepo(t, "gomod")
			token := fmt.Sprintf("%d.%06d", 3000+time.Now().Second(), time.Now().Nanosecond()/1000)
			s := factory.Suite{
				Name:    "slow",
				Run:     []string{"go", "test", "-json", "-trimpath", "-count=1", "-tags", "slow", "./slow"},
				Format:  factory.FormatGoJSON,
				Timeout: 10 * time.Second,
				Env:     map[string]string{"FIXTURE_SLEEP": token},
			}
			start := time.Now()
			rep, log := runOrSkip(t, w, testrun.Job{Suite: s, Policy: factory.SandboxPolicy{Isolation: mode}})
			if t.Failed() {
				return
			}
			assert.Less(t, time.Since(start), 40*time.Second)
			assert.Equal(t, factory.TestTimeout, rep.Status)
			assert.Equal(t, []string{"TestSlow"}, failureNames(rep.Failures))
			assert.True(t, rep.Failures[0].Timeout)
			assert.Equal(t, factory.TestCounts{Total: 2, Passed: 1, Failed: 1}, rep.Counts)
			assert.Contains(t, string(log), "started sleeper pid", "the background child was started")
			assert.False(t, sleeperRunning(t, token), "the background child outlived the run")
			assert.Empty(t, rep.Flaky, "a timed-out test is not rerun")
		})
	}
}

// TestRunTestsCancel stops a run through its context.
func TestRunTestsCancel(t *testing.T) {
	w := fixtureRepo(t, "gomod")
	token := fmt.Sprintf("%d.%06d", 4000+time.Now().Second(), time.Now().Nanosecond()/1000)
	s := factory.Suite{Name: "slow", Run: []string{"go", "test", "-json", "-count=1", "-tags", "slow", "./slow"},
		Format: factory.FormatGoJSON, Env: map[string]string{"FIXTURE_SLEEP": token}}
	ctx, cancel := context.WithCancel(context.Background())
	var once sync.Once
	rep, _, err := testrun.New(w).Run(ctx, testrun.Job{Suite: s, Progress: func(done, total int, msg string) {
		once.Do(func() { time.AfterFunc(300*time.Millisecond, cancel) })
	}})
	require.Error(t, err)
	assert.Equal(t, factory.ETIMEOUT, factory.ErrorCode(err))
	assert.True(t, errors.Is(err, context.Canceled))
	assert.Equal(t, factory.TestError, rep.Status)
	assert.False(t, sleeperRunning(t, token))
}

// TestRunTestsNarrowBaselineInPlace covers narrowing, a zero-test run, the
// live tree, and new failures against a baseline snapshot.
func TestRunTestsNarrowBaselineInPlace(t *testing.T) {
	w := fixtureRepo(t, "gomod")
	tests := testrun.New(w) // one runner: it caches the baseline's failures
	ctx := context.Background()
	base, err := w.Snapshot(ctx, "base")
	require.NoError(t, err)

	rep, _, err := tests.Run(ctx, testrun.Job{Suite: goFixtureSuite,
		Request: factory.TestRequest{Package: "./basic", Test: "^TestAddPasses$", InPlace: true}})
	require.NoError(t, err)
	assert.Equal(t, factory.TestPass, rep.Status)
	assert.Equal(t, factory.TestCounts{Total: 1, Passed: 1}, rep.Counts)
	assert.Empty(t, rep.Snapshot, "in place: no copy")

	rep, _, err = tests.Run(ctx, testrun.Job{Suite: goFixtureSuite,
		Request: factory.TestRequest{Package: "./basic", Test: "^TestNoSuchTest$"}})
	require.NoError(t, err)
	assert.Equal(t, factory.TestError, rep.Status)
	assert.Contains(t, rep.Notes, "no tests ran")

	// A new failing test in the live tree; the baseline lacks it.
	extra := "package basic\n\nimport \"testing\"\n\nfunc TestNew(t *testing.T) { t.Fatal(\"new and broken\") }\n"
	require.NoError(t, os.WriteFile(filepath.Join(w.Root(), "basic", "new_test.go"), []byte(extra), 0o644))
	req := factory.TestRequest{Package: "./basic", Reruns: -1, Baseline: base.ID}
	rep, log, err := tests.Run(ctx, testrun.Job{Suite: goFixtureSuite, Request: req})
	require.NoError(t, err)
	assert.Equal(t, factory.TestFail, rep.Status)
	assert.Equal(t, []string{"example.com/fixture/basic.TestNew"}, rep.NewFailures)
	assert.Contains(t, failureNames(rep.Failures), "TestFlaky", "no reruns asked: the flaky test stays a failure")
	assert.Contains(t, string(log), "baseline run on snapshot "+base.ID)

	_, _, err = tests.Run(ctx, testrun.Job{Suite: goFixtureSuite, Request: factory.TestRequest{Baseline: "s-000000"}})
	assert.Equal(t, factory.ENOTFOUND, factory.ErrorCode(err), "an unknown baseline fails before running: %v", err)

	// The baseline's result is cached per tree.
	rep, log, err = tests.Run(ctx, testrun.Job{Suite: goFixtureSuite, Request: req})
	require.NoError(t, err)
	assert.Equal(t, []string{"example.com/fixture/basic.TestNew"}, rep.NewFailures)
	assert.NotContains(t, string(log), "baseline run on snapshot")
}

// TestRunTestsNodeJUnit runs the node --test fixture for real, with the
// suite DetectSuites proposes for it.
func TestRunTestsNodeJUnit(t *testing.T) {
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("node not installed")
	}
	w := fixtureRepo(t, "nodeproj")
	// The suite factory init would write: node --test with its JUnit
	// reporter into .factory/, a directory RunTests has to make.
	suites := testrun.DetectSuites(w.Root())
	require.Len(t, suites, 1)
	s := suites[0]
	s.Timeout = time.Minute
	rep, log, err := testrun.New(w).Run(context.Background(), testrun.Job{Suite: s})
	require.NoError(t, err, string(log))
	assert.Equal(t, factory.TestFail, rep.Status, "notes: %v\n%s", rep.Notes, log)
	assert.Equal(t, []string{"adds wrongly", "one", "child fails"}, failureNames(rep.Failures))
	assert.Equal(t, factory.TestCounts{Total: 8, Passed: 3, Failed: 3, Skipped: 2}, rep.Counts)
	assert.Equal(t, "test/math.test.js", rep.Failures[0].File)
	assert.Equal(t, 12, rep.Failures[0].Line)
	// Each failure is rerun alone, selected by its own name.
	assert.Contains(t, string(log), "$ node --test-name-pattern=^adds wrongly$ --test")
	assert.NotContains(t, string(log), "rerun of the suite")
}

func TestRunTestsRefusesBadRequests(t *testing.T) {
	w := fixtureRepo(t, "gomod")
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		tr   testrun.Job
	}{
		{"no argv", testrun.Job{Suite: factory.Suite{Name: "x", Format: factory.FormatGoJSON}}},
		{"unknown format", testrun.Job{Suite: factory.Suite{Name: "x", Run: []string{"true"}, Format: "xml"}}},
		{"junit without path", testrun.Job{Suite: factory.Suite{Name: "x", Run: []string{"true"}, Format: factory.FormatJUnit}}},
		{"junit path outside", testrun.Job{Suite: factory.Suite{Name: "x", Run: []string{"true"}, Format: factory.FormatJUnit, JUnitPath: "../r.xml"}}},
		{"in place and snapshot", testrun.Job{Suite: goFixtureSuite, Request: factory.TestRequest{InPlace: true, Snapshot: "s-123456"}}},
		{"flag as test", testrun.Job{Suite: goFixtureSuite, Request: factory.TestRequest{Test: "-exec=sh"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := testrun.New(w).Run(ctx, tc.tr)
			assert.Equal(t, factory.EINVALID, factory.ErrorCode(err), "%v", err)
		})
	}
}

// TestRunTestsCopyAtLiveRoot runs a snapshot's copy while the live tree
// differs: under isolation the tests see the copy's contents at the live
// root's path (so absolute paths match a direct run), their writes stay in
// the copy, and the report's paths are relative to the root; without
// isolation the copy runs at its own path and a note says so.
func TestRunTestsCopyAtLiveRoot(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "live")
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "where"), 0o755))
	files := map[string]string{
		"go.mod":           "module example.com/where\n\ngo 1.22\n",
		"where/marker.txt": "snap",
		"where/where_test.go": `package where

import (
	"os"
	"testing"
)

func TestWhere(t *testing.T) {
	wd, _ := os.Getwd()
	b, _ := os.ReadFile("marker.txt")
	t.Errorf("wd=%s marker=%s", wd, b)
}

func TestWrite(t *testing.T) {
	if err := os.WriteFile("written.txt", []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestPanic(t *testing.T) {
	var m map[string]int
	m["x"] = 1
}
`}
	for name, body := range files {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644))
	}
	gittest.Run(t, dir, "init", "-q")
	gittest.Run(t, dir, "add", "-A")
	gittest.Run(t, dir, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "where")
	ctx := context.Background()
	w, err := sandbox.Open(ctx, sandbox.Config{Root: dir})
	require.NoError(t, err)
	snap, err := w.Snapshot(ctx, "before the live edit")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(w.Root(), "where", "marker.txt"), []byte("live"), 0o644))
	status := gittest.Run(t, w.Root(), "status", "--porcelain")

	suite := factory.Suite{Name: "where", Run: []string{"go", "test", "-json", "-count=1", "./..."},
		Format: factory.FormatGoJSON, Timeout: 3 * time.Minute}
	for _, mode := range append(isolationModes(t), proc.IsoNone) {
		t.Run(mode, func(t *testing.T) {
			rep, log := runOrSkip(t, w, testrun.Job{Suite: suite, Policy: factory.SandboxPolicy{Isolation: mode},
				Request: factory.TestRequest{Snapshot: snap.ID, Reruns: -1}})
			assert.Equal(t, mode, rep.Isolation)
			require.Equal(t, []string{"TestWhere", "TestPanic"}, failureNames(rep.Failures), "notes %v\n%s", rep.Notes, log)
			msg := rep.Failures[0].Message
			if mode == proc.IsoNone {
				assert.NotContains(t, msg, "wd="+filepath.Join(w.Root(), "where")+" ")
				assert.Contains(t, strings.Join(rep.Notes, "\n"), "cannot be shown at "+w.Root())
			} else {
				assert.Equal(t, "wd="+filepath.Join(w.Root(), "where")+" marker=snap", msg,
					"the copy (not the live tree) is seen at the live root's path")
			}
			assert.Contains(t, msg, "marker=snap")
			assert.Equal(t, "where/where_test.go", rep.Failures[0].File)
			assert.Equal(t, "where/where_test.go", rep.Failures[1].File, "the panic's absolute frame is made relative to the root")
			assert.NoFileExists(t, filepath.Join(w.Root(), "where", "written.txt"))
			assert.Equal(t, status, gittest.Run(t, w.Root(), "status", "--porcelain"), "the live tree is unchanged")
		})
	}
}

func byNameCrashed(fs []factory.TestFailure, name string) bool {
	for _, f := range fs {
		if f.Name == name {
			return f.Crashed
		}
	}
	return false
}
