package invariants

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/factory-dev/factory"
	"github.com/factory-dev/factory/invariants/gates"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// matrixCase is one proposal against an example workspace and what the
// controller must say about it.
type matrixCase struct {
	name     string
	edit     func(t testing.TB, dir string)
	failID   string   // the verdict that must fail
	evidence []string // strings its message or evidence must contain
	noisy    bool     // a timing comparison: a busy machine may hide it
}

// shopCases are the proposals of the done-when list, for testdata/shop.
func shopCases() []matrixCase {
	return []matrixCase{
		{"breaks a test", func(t testing.TB, d string) {
			replaceIn(t, d, "cart/cart.go", "price.Sum(c.Lines...)", "price.Sum(c.Lines[1:]...)")
		}, "tests-pass", []string{"tests.failed = 2", "FAIL example.com/shop/cart.TestTotal (cart_test.go:12): Total = 250, want 500"}, false},
		{"adds a skip marker", func(t testing.TB, d string) {
			replaceIn(t, d, "web/web_test.go", "func TestReceipt(t *testing.T) {\n", "func TestReceipt(t *testing.T) {\n\tt.Skip(\"flaky on CI\")\n")
		}, "no-new-skips", []string{"tests.skipped = 1", "baseline.tests.skipped = 0"}, false},
		{"edits a protected test file", func(t testing.TB, d string) {
			replaceIn(t, d, "price/golden_test.go", "got != 900", "got != 899")
		}, "golden-untouched", []string{"modified price/golden_test.go (+1 -1)"}, false},
		{"edits factory.yaml to drop a gate", func(t testing.TB, d string) {
			replaceIn(t, d, "factory.yaml", "  vet: {run: [go, vet, -trimpath, ./...]}\n", "")
			replaceIn(t, d, "factory.yaml", "  - {id: vet-clean, expr: \"vet.exit_code == 0\"}\n", "")
		}, "golden-untouched", []string{"modified factory.yaml (+0 -2)"}, false},
		{"breaks the import layering", func(t testing.TB, d string) {
			replaceIn(t, d, "web/web.go", "\t\"example.com/shop/cart\"\n", "\t\"example.com/shop/cart\"\n\t\"example.com/shop/price\"\n")
			replaceIn(t, d, "web/web.go", "\tt := c.Total(0)\n", "\tvar t price.Cents = c.Total(0)\n")
		}, "layering", []string{"web/web.go:8: example.com/shop/web imports example.com/shop/price"}, false},
		{"regresses a benchmark (the loop twice)", func(t testing.TB, d string) {
			replaceIn(t, d, "price/price.go", "\treturn out\n}", "\tfor i := 0; i < n; i++ { // the same work again\n\t\tout[i] = c / Cents(n)\n\t\tif Cents(i) < c%Cents(n) {\n\t\t\tout[i]++\n\t\t}\n\t}\n\treturn out\n}")
		}, "spread-fast", []string{"BenchmarkSpread: ", ", paired cpu)"}, true},
		{"adds a panic (forbid over added lines)", func(t testing.TB, d string) {
			replaceIn(t, d, "cart/cart.go", "\treturn price.Discount", "\tif discount > 100 {\n\t\tpanic(\"discount\")\n\t}\n\treturn price.Discount")
		}, "no-panics", []string{"cart/cart.go:12: panic(\"discount\")"}, false},
	}
}

func goodShopEdit(t testing.TB, d string) {
	replaceIn(t, d, "price/price.go", "// Spread divides", "// Max returns the largest amount, 0 for none.\nfunc Max(cs ...Cents) Cents {\n\tvar m Cents\n\tfor _, c := range cs {\n\t\tif c > m {\n\t\t\tm = c\n\t\t}\n\t}\n\treturn m\n}\n\n// Spread divides")
	writeFiles(t, d, map[string]string{"price/max_test.go": "package price\n\nimport \"testing\"\n\nfunc TestMax(t *testing.T) {\n\tif Max(3, 9, 4) != 9 || Max() != 0 {\n\t\tt.Fatal(\"Max\")\n\t}\n}\n"})
}

func newTestController(t testing.TB, ws Workspace, r gates.Runner, steps Steps, cacheDir string) *Controller {
	t.Helper()
	c, err := New(ControllerConfig{Workspace: ws, Runner: r, Steps: steps, CacheDir: cacheDir})
	require.NoError(t, err)
	return c
}

// runMatrix proposes every case against the live repository and checks
// the verdicts, the evidence and that the live tree was not touched; then
// proposes good and checks it landed exactly.
func runMatrix(t *testing.T, repo string, c *Controller, resolve func(string) (factory.Snapshot, error), cases []matrixCase, good func(testing.TB, string), goodPaths []string) {
	ctx := context.Background()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			patch := makePatch(t, repo, func(d string) { tc.edit(t, d) })
			before := treeState(t, repo)
			res, err := c.Propose(ctx, ProposeRequest{Patch: patch})
			require.NoError(t, err)
			if v, _ := verdictByID(res.Verdicts, tc.failID); tc.noisy && v.Status == factory.VerdictPass {
				// Only an insignificant comparison may pass: a significant
				// slowdown beyond the budget that passes is a bug.
				require.Contains(t, strings.Join(v.Evidence, "\n"), "not significant", "%+v", v)
				t.Skipf("this machine is too busy to measure the slowdown: %s", strings.Join(v.Evidence, "; "))
			}
			assert.False(t, res.Accepted, res.Reason)
			requireVerdict(t, res.Verdicts, tc.failID, factory.VerdictFail, tc.evidence...)
			assert.Contains(t, res.Reason, tc.failID)
			assert.Equal(t, before, treeState(t, repo), "the live tree must be byte-identical, mtimes included")
			assert.Empty(t, res.Live)
			t.Logf("%s: %s", tc.name, res.Reason)
			if v, ok := verdictByID(res.Verdicts, tc.failID); ok {
				t.Logf("evidence: %s", strings.Join(v.Evidence, "; "))
			}
		})
	}
	t.Run("a good proposal lands", func(t *testing.T) {
		var want string
		patch := makePatch(t, repo, func(d string) {
			good(t, d)
			want = d
		})
		before := treeState(t, repo)
		res, err := c.Propose(ctx, ProposeRequest{Patch: patch})
		require.NoError(t, err)
		require.True(t, res.Accepted, "%s %+v", res.Reason, Failing(res.Verdicts))
		assert.Empty(t, Failing(res.Verdicts))
		for _, v := range res.Verdicts {
			if strings.Contains(strings.Join(v.Evidence, ""), "Benchmark") {
				t.Logf("%s: %s", v.ID, strings.Join(v.Evidence, "; "))
			}
		}
		after := treeState(t, repo)
		for _, p := range goodPaths {
			assert.Equal(t, fileText(t, filepath.Join(want, p)), fileText(t, filepath.Join(repo, p)), p)
			delete(after, p)
			delete(before, p)
		}
		assert.Equal(t, before, after, "only the patch's files changed")
		assert.ElementsMatch(t, goodPaths, res.Written)
		live, err := resolve(res.Live)
		require.NoError(t, err, "the accepted tree is recorded as a snapshot")
		result, err := resolve(res.Result)
		require.NoError(t, err)
		assert.Equal(t, result.Tree, live.Tree)
	})
}

func TestProposeMatrixOnTheShopWorkspace(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go test, vet and benchmarks")
	}
	repo := repoFrom(t, "testdata/shop")
	ws := newFakeWS(t, repo)
	runner := &execRunner{}
	steps := &stepRecorder{}
	c := newTestController(t, ws, runner, steps, filepath.Join(repo, ".git", "factory", "cache"))
	runMatrix(t, repo, c, func(id string) (factory.Snapshot, error) { return ws.Resolve(context.Background(), id) },
		shopCases(), goodShopEdit, []string{"price/price.go", "price/max_test.go"})

	names := strings.Join(steps.recorded(), ",")
	for _, phase := range []string{"snapshot", "isolate", "apply", "snapshot result", "diff", "gates", "gate tests", "baseline gate tests", "evaluate", "promote", "snapshot live"} {
		assert.Contains(t, names, phase)
	}
	// The base's facts were computed once for the whole matrix.
	assert.Equal(t, 1, strings.Count(names, "baseline gate tests"), names)
}

func TestStaticFailuresSkipTheGates(t *testing.T) {
	repo := repoFrom(t, "testdata/shop")
	runner := &execRunner{}
	c := newTestController(t, newFakeWS(t, repo), runner, nil, "")
	patch := makePatch(t, repo, func(d string) { replaceIn(t, d, "price/golden_test.go", "900", "901") })
	res, err := c.Propose(context.Background(), ProposeRequest{Patch: patch})
	require.NoError(t, err)
	assert.False(t, res.Accepted)
	requireVerdict(t, res.Verdicts, "golden-untouched", factory.VerdictFail)
	requireVerdict(t, res.Verdicts, "tests-pass", factory.VerdictSkipped, "not run: golden-untouched failed first")
	assert.Zero(t, runner.suites, "no test ran")
	assert.Empty(t, runner.commands, "no command ran")
}

func TestProposeWhileTheLiveTreeMoved(t *testing.T) {
	repo := newRepo(t, map[string]string{
		"factory.yaml": "version: 1\ngates:\n  build: {run: [go, build, ./...]}\ninvariants:\n  - {id: builds, expr: \"build.exit_code == 0\"}\n",
		"go.mod":       "module example.com/m\n\ngo 1.22\n",
		"a/a.go":       "package a\n\nfunc A() int { return 1 }\n",
		"b/b.go":       "package b\n\nfunc B() int { return 2 }\n",
	})
	ws := newFakeWS(t, repo)
	steps := &stepRecorder{hook: map[string]func(){}}
	c := newTestController(t, ws, &execRunner{}, steps, "")
	ctx := context.Background()

	t.Run("clean merge", func(t *testing.T) {
		patch := makePatch(t, repo, func(d string) { replaceIn(t, d, "a/a.go", "return 1", "return 10") })
		steps.hook["promote"] = func() {
			writeFiles(t, repo, map[string]string{"b/b.go": "package b\n\nfunc B() int { return 20 }\n", "notes.txt": "mine\n"})
		}
		res, err := c.Propose(ctx, ProposeRequest{Patch: patch})
		require.NoError(t, err)
		require.True(t, res.Accepted, res.Reason)
		assert.Equal(t, "package a\n\nfunc A() int { return 10 }\n", fileText(t, filepath.Join(repo, "a/a.go")))
		assert.Equal(t, "package b\n\nfunc B() int { return 20 }\n", fileText(t, filepath.Join(repo, "b/b.go")), "the live edit is kept")
		assert.Equal(t, "mine\n", fileText(t, filepath.Join(repo, "notes.txt")))
		assert.Equal(t, []string{"a/a.go"}, res.Written)
	})
	t.Run("conflict changes nothing", func(t *testing.T) {
		patch := makePatch(t, repo, func(d string) { replaceIn(t, d, "a/a.go", "return 10", "return 100") })
		var moved map[string]string
		steps.hook["promote"] = func() {
			writeFiles(t, repo, map[string]string{"a/a.go": "package a\n\nfunc A() int { return 7 }\n"})
			moved = treeState(t, repo)
		}
		res, err := c.Propose(ctx, ProposeRequest{Patch: patch})
		require.NoError(t, err)
		assert.False(t, res.Accepted)
		assert.NotEmpty(t, res.Conflict)
		assert.Contains(t, res.Reason, "conflicts")
		requireVerdict(t, res.Verdicts, "builds", factory.VerdictPass)
		assert.Equal(t, moved, treeState(t, repo), "nothing written")
	})
}

func TestProposeRejectsAPatchThatDoesNotApply(t *testing.T) {
	repo := newRepo(t, map[string]string{"factory.yaml": "version: 1\n", "a.txt": "one\n"})
	c := newTestController(t, newFakeWS(t, repo), &execRunner{}, nil, "")
	before := treeState(t, repo)
	res, err := c.Propose(context.Background(), ProposeRequest{Patch: "--- a/a.txt\n+++ b/a.txt\n@@ -1 +1 @@\n-two\n+three\n"})
	require.NoError(t, err)
	assert.False(t, res.Accepted)
	assert.Contains(t, res.Reason, "does not apply")
	assert.NotEmpty(t, res.Patch.Conflicts)
	assert.Equal(t, before, treeState(t, repo))
}

func TestProposeWithoutFactoryYAMLIsNotFound(t *testing.T) {
	repo := newRepo(t, map[string]string{"a.txt": "one\n"})
	c := newTestController(t, newFakeWS(t, repo), &execRunner{}, nil, "")
	_, err := c.Propose(context.Background(), ProposeRequest{Patch: "--- a/a.txt\n+++ b/a.txt\n@@ -1 +1 @@\n-one\n+two\n"})
	assert.Equal(t, factory.ENOTFOUND, factory.ErrorCode(err))
	assert.Contains(t, err.Error(), "factory init")

	// Written but not committed: the rules are read from HEAD, so say to commit it.
	writeFiles(t, repo, map[string]string{"factory.yaml": "version: 1\n"})
	_, err = c.Propose(context.Background(), ProposeRequest{Patch: "--- a/a.txt\n+++ b/a.txt\n@@ -1 +1 @@\n-one\n+two\n"})
	assert.Equal(t, factory.ENOTFOUND, factory.ErrorCode(err))
	assert.Contains(t, err.Error(), "git add factory.yaml && git commit")
}

// The commit is the gated tree exactly: the live tree at the base (the
// user's untracked scratch.txt included, the gates saw it) plus the change.
func TestProposeCommitsTheGatedTreeWithTrailers(t *testing.T) {
	repo := newRepo(t, map[string]string{
		"factory.yaml": "version: 1\ngates:\n  ok: {run: [\"true\"]}\ninvariants:\n  - {id: ok, expr: \"ok.exit_code == 0\"}\n",
		"a.txt":        "one\n", "gone.txt": "bye\n",
	})
	writeFiles(t, repo, map[string]string{"scratch.txt": "gated with the change\n"})
	c := newTestController(t, newFakeWS(t, repo), &execRunner{}, nil, "")
	patch := makePatch(t, repo, func(d string) {
		replaceIn(t, d, "a.txt", "one", "two")
		require.NoError(t, os.Remove(filepath.Join(d, "gone.txt")))
		writeFiles(t, d, map[string]string{"new/b.txt": "new\n"})
	})
	ctx := factory.WithCall(context.Background(), factory.Call{RunID: "r-42"})
	res, err := c.Propose(ctx, ProposeRequest{Patch: patch, Commit: true, Message: "change a, add b"})
	require.NoError(t, err)
	require.True(t, res.Accepted, res.Reason)
	require.Empty(t, res.CommitError)
	assert.Equal(t, gitIn(t, repo, nil, "rev-parse", "HEAD"), res.Commit)
	msg := gitIn(t, repo, nil, "log", "-1", "--format=%B")
	assert.Contains(t, msg, "change a, add b")
	assert.Equal(t, "r-42", gitIn(t, repo, nil, "log", "-1", "--format=%(trailers:key=Factory-Run,valueonly)"))
	assert.Equal(t, "factory-yaml-protected=pass ok=pass", gitIn(t, repo, nil, "log", "-1", "--format=%(trailers:key=Factory-Verdicts,valueonly)"))
	assert.Equal(t, "M\ta.txt\nD\tgone.txt\nA\tnew/b.txt\nA\tscratch.txt", gitIn(t, repo, nil, "show", "--format=", "--name-status", "HEAD"))
	result, err := c.cfg.Workspace.Resolve(ctx, res.Result)
	require.NoError(t, err)
	assert.Equal(t, result.Tree, gitIn(t, repo, nil, "rev-parse", "HEAD^{tree}"), "the commit's tree is the gated tree")
	assert.Equal(t, "", gitIn(t, repo, nil, "status", "--porcelain"))
}

func TestCheckCachesByTreeAndConfig(t *testing.T) {
	repo := repoFrom(t, "testdata/shop")
	// a lighter config: the suite and vet only
	writeFiles(t, repo, map[string]string{"factory.yaml": `version: 1
suites:
  unit: {run: [go, test, -trimpath, -json, ./...]}
gates:
  tests: {suite: unit}
  vet: {run: [go, vet, -trimpath, ./...]}
  todo: {pattern: {regex: "Golden", in: ["**/*_test.go"], scope: files}}
invariants:
  - {id: tests-pass, expr: "tests.failed == 0 && tests.total >= 4"}
  - {id: vet-clean, expr: "vet.exit_code == 0"}
  - {id: golden-marked, expr: "todo.count == 2"}
  - {id: bad-field, expr: "tests.faild == 0"}
`})
	gitIn(t, repo, nil, "commit", "-q", "-am", "the rules are read as committed")
	ws := newFakeWS(t, repo)
	runner := &execRunner{}
	cache := filepath.Join(repo, ".git", "factory", "cache")
	c := newTestController(t, ws, runner, nil, cache)
	ctx := context.Background()
	res, err := c.Check(ctx, CheckRequest{})
	require.NoError(t, err)
	assert.False(t, res.Passed)
	assert.False(t, res.Cached)
	requireVerdict(t, res.Verdicts, "tests-pass", factory.VerdictPass, "tests.total = ")
	requireVerdict(t, res.Verdicts, "vet-clean", factory.VerdictPass)
	requireVerdict(t, res.Verdicts, "golden-marked", factory.VerdictPass, "todo.count = 2")
	bad := requireVerdict(t, res.Verdicts, "bad-field", factory.VerdictError, "has no field faild (1:7)")
	assert.Contains(t, bad.Evidence, "tests.faild == 0")
	requireVerdict(t, res.Verdicts, ImplicitProtectID, factory.VerdictPass)
	ran := len(runner.commands)
	require.Equal(t, 1, runner.suites)

	again, err := c.Check(ctx, CheckRequest{})
	require.NoError(t, err)
	assert.True(t, again.Cached)
	assert.Equal(t, res.Verdicts, again.Verdicts)
	assert.Equal(t, ran, len(runner.commands), "an unchanged tree is not re-run")

	// A new process (new controller) finds the verdicts on disk.
	c2 := newTestController(t, ws, runner, nil, cache)
	third, err := c2.Check(ctx, CheckRequest{})
	require.NoError(t, err)
	assert.True(t, third.Cached)
	assert.Equal(t, 1, runner.suites)

	// A changed tree re-runs: the suite's facts are keyed by tree.
	writeFiles(t, repo, map[string]string{"web/extra.go": "package web\n"})
	fourth, err := c2.Check(ctx, CheckRequest{})
	require.NoError(t, err)
	assert.False(t, fourth.Cached)
	assert.Equal(t, 2, runner.suites)

	// NoCache re-runs everything.
	_, err = c2.Check(ctx, CheckRequest{NoCache: true})
	require.NoError(t, err)
	assert.Equal(t, 3, runner.suites)
}

func TestCheckAgainstABaselineReadsTheBaselineRules(t *testing.T) {
	repo := newRepo(t, map[string]string{
		"factory.yaml": "version: 1\ngates:\n  lint: {run: [\"false\"]}\ninvariants:\n  - {id: lint, expr: \"lint.exit_code == 0\"}\n",
		"a.txt":        "one\n",
	})
	ws := newFakeWS(t, repo)
	c := newTestController(t, ws, &execRunner{}, nil, "")
	ctx := context.Background()
	base, err := ws.Snapshot(ctx, "base")
	require.NoError(t, err)
	// The tree under check weakens its own rules; the baseline's still apply.
	writeFiles(t, repo, map[string]string{"factory.yaml": "version: 1\ngates:\n  lint: {run: [\"true\"]}\ninvariants:\n  - {id: lint, expr: \"lint.exit_code == 0\"}\n"})
	res, err := c.Check(ctx, CheckRequest{Baseline: base.ID})
	require.NoError(t, err)
	assert.False(t, res.Passed)
	requireVerdict(t, res.Verdicts, "lint", factory.VerdictFail, "lint.exit_code = 1")
	requireVerdict(t, res.Verdicts, ImplicitProtectID, factory.VerdictFail, "modified factory.yaml")
	assert.Equal(t, base.ID, res.Baseline)
}

func TestASuiteThatRanZeroTestsIsAnError(t *testing.T) {
	repo := newRepo(t, map[string]string{
		"factory.yaml": "version: 1\nsuites:\n  unit: {run: [go, test, -json, -run, NoSuchTest, ./...]}\ngates:\n  tests: {suite: unit}\ninvariants:\n  - {id: tests-pass, expr: \"tests.failed == 0\"}\n",
		"go.mod":       "module example.com/z\n\ngo 1.22\n",
		"z_test.go":    "package z\n\nimport \"testing\"\n\nfunc TestZ(t *testing.T) {}\n",
	})
	c := newTestController(t, newFakeWS(t, repo), &execRunner{}, nil, "")
	res, err := c.Check(context.Background(), CheckRequest{})
	require.NoError(t, err)
	assert.False(t, res.Passed)
	requireVerdict(t, res.Verdicts, "tests-pass", factory.VerdictError, "ran zero tests")
	again, err := c.Check(context.Background(), CheckRequest{})
	require.NoError(t, err)
	assert.False(t, again.Cached, "a gate error is not remembered")
}

// gatesCases are the proposals of the done-when list, for the demo
// workspace examples/gates.
func gatesCases() []matrixCase {
	return []matrixCase{
		{"breaks a test", func(t testing.TB, d string) {
			replaceIn(t, d, "ui/ui.go", `"%s: %d\n"`, `"%s=%d\n"`)
		}, "tests-pass", []string{"tests.failed = 1", "FAIL example.com/gates/ui.TestRender (", "ui_test.go:13): Render = "}, false},
		{"adds a skip marker", func(t testing.TB, d string) {
			replaceIn(t, d, "ui/ui_test.go", "func TestRender(t *testing.T) {\n", "func TestRender(t *testing.T) {\n\tt.Skip(\"TODO: fix later\")\n")
		}, "no-new-skips", []string{"tests.skipped = 1", "baseline.tests.skipped = 0"}, false},
		{"edits a protected test file", func(t testing.TB, d string) {
			replaceIn(t, d, "core/contract_test.go", `"a":      0xe40c292c,`, `"a":      0xe40c292d,`)
		}, "contract-untouched", []string{"modified core/contract_test.go (+1 -1)"}, false},
		{"edits factory.yaml to drop a gate", func(t testing.TB, d string) {
			replaceIn(t, d, "factory.yaml", "  vet: {run: [go, vet, -trimpath, ./...]}\n", "")
			replaceIn(t, d, "factory.yaml", "  - {id: vet-clean, expr: \"vet.exit_code == 0\"}\n", "")
		}, ImplicitProtectID, []string{"modified factory.yaml (+0 -2)"}, false},
		{"breaks the import layering (the demo's first proposal)", func(t testing.TB, d string) {
			applyDemoPatch(t, d, "01-reach-into-db.patch")
		}, "layering", []string{"ui/ui.go:9: example.com/gates/ui imports example.com/gates/internal/db"}, false},
		{"regresses a benchmark by 30%", func(t testing.TB, d string) {
			replaceIn(t, d, "core/core.go", "\treturn h\n}", "\textra := uint32(0)\n\tfor _, b := range data[:len(data)*3/10] { // a second pass over 30% of the input\n\t\textra ^= uint32(b)\n\t\textra *= 16777619\n\t}\n\tif extra == 0x9e3779b9 {\n\t\th++\n\t}\n\treturn h\n}")
		}, "checksum-fast", []string{"BenchmarkChecksum: ", ", paired cpu)"}, true},
	}
}

// goodGatesEdit is the demo's second proposal.
func goodGatesEdit(t testing.TB, d string) { applyDemoPatch(t, d, "02-through-core.patch") }

// applyDemoPatch applies one of examples/gates/proposals to dir.
func applyDemoPatch(t testing.TB, dir, name string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("../examples/gates/proposals", name))
	require.NoError(t, err)
	_, err = gitTry(dir, nil, b, "apply", "-")
	require.NoError(t, err)
}
