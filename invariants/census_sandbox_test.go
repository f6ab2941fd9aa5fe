package invariants_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/factory-dev/factory"
	"github.com/factory-dev/factory/internal/attacktest"
	"github.com/factory-dev/factory/invariants"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSandboxCensusMatrix(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go test, vet and benchmarks")
	}
	repo := invariants.RepoFromForTest(t, "../examples/gates")
	ws, c, _, _ := openSandbox(t, repo)
	invariants.RunCensusMatrixForTest(t, repo, c, func(id string) (factory.Snapshot, error) { return ws.Resolve(context.Background(), id) })
}

// censusYAML judges a one-suite module: tests pass, no new skips, no test
// deleted; tests-all-ran is implied.
const censusYAML = `version: 1
suites:
  unit: {run: [go, test, -json, RUN ./...], format: go-json, timeout: 3m}
gates:
  tests: {suite: unit}
invariants:
  - {id: tests-pass, expr: "tests.failed == 0 && tests.build_errors == 0"}
  - {id: no-new-skips, expr: "tests.skipped <= baseline.tests.skipped"}
  - {id: no-deleted-tests, expr: "len(tests.deleted) == 0"}
`

const calcTest = `package calc

import "testing"

func TestCalcAdd(t *testing.T) {
	if Add(2, 3) != 5 {
		t.Fatal("Add(2, 3) != 5")
	}
}

func TestCalcHalf(t *testing.T) {
	if got := Half(8); got != 4 {
		t.Fatalf("Half(8) = %d, want 4", got)
	}
}
`

// censusRepo is a git repository holding a small module, example.com/att:
// calc (two tests and an example) and words (one test), judged by
// censusYAML with run (e.g. "-run, ^TestCalc,") before the packages.
func censusRepo(t *testing.T, run string) (repo string, watched []string) {
	t.Helper()
	src := t.TempDir()
	files := map[string]string{
		"go.mod":               "module example.com/att\n\ngo 1.22\n",
		"factory.yaml":         strings.Replace(censusYAML, "RUN ", run, 1),
		"calc/calc.go":         "package calc\n\nfunc Add(a, b int) int { return a + b }\n\nfunc Half(x int) int { return x / 2 }\n",
		"calc/calc_test.go":    calcTest,
		"calc/example_test.go": "package calc_test\n\nimport (\n\t\"fmt\"\n\n\t\"example.com/att/calc\"\n)\n\nfunc ExampleAdd() {\n\tfmt.Println(calc.Add(1, 2))\n\t// Output: 3\n}\n",
		"words/words.go":       "package words\n\nimport \"strings\"\n\nfunc Count(s string) int { return len(strings.Fields(s)) }\n",
		"words/words_test.go":  "package words\n\nimport \"testing\"\n\nfunc TestCount(t *testing.T) {\n\tif Count(\"a b\") != 2 {\n\t\tt.Fatal(\"Count\")\n\t}\n}\n",
	}
	invariants.WriteFilesForTest(t, src, files)
	repo = invariants.RepoFromForTest(t, src)
	// the tree and its branch; the sandbox's snapshot objects and refs
	// under .git are its own state
	for _, p := range []string{"go.mod", "factory.yaml", "calc", "words", ".git/HEAD", ".git/refs/heads"} {
		watched = append(watched, filepath.Join(repo, p))
	}
	return repo, watched
}

// breakHalf is the regression every attack hides: TestCalcHalf fails on it.
func breakHalf(t testing.TB, d string) {
	invariants.ReplaceInForTest(t, d, "calc/calc.go", "return x / 2", "return x / 3")
}

// proposeAttack proposes edit on a fresh censusRepo and requires a
// rejection by failID with evidence, the tree and branch byte-identical.
func proposeAttack(t *testing.T, run string, edit func(d string), failID string, evidence ...string) factory.Verdict {
	t.Helper()
	repo, watched := censusRepo(t, run)
	_, c, _, _ := openSandbox(t, repo)
	patch := invariants.MakePatchForTest(t, repo, edit)
	before := attacktest.Take(t, watched...)
	res, err := c.Propose(context.Background(), invariants.ProposeRequest{Patch: patch})
	require.NoError(t, err)
	assert.False(t, res.Accepted, res.Reason)
	v := invariants.RequireVerdictForTest(t, res.Verdicts, failID, factory.VerdictFail, evidence...)
	assert.Contains(t, res.Reason, failID)
	attacktest.Unchanged(t, before, watched...)
	t.Logf("%s: %s; evidence: %s", res.Reason, v.Message, strings.Join(v.Evidence, "; "))
	return v
}

// attack: a TestMain that returns exit status 0 without calling m.Run hides
// a broken function -> tests-all-ran fails by default, naming each test of
// the package that did not run and the TestMain
func TestAttackTestMainExitsWithoutRun(t *testing.T) {
	proposeAttack(t, "", func(d string) {
		breakHalf(t, d)
		invariants.WriteFilesForTest(t, d, map[string]string{"calc/main_test.go": "package calc\n\nimport (\n\t\"os\"\n\t\"testing\"\n)\n\nfunc TestMain(m *testing.M) { os.Exit(0) }\n"})
	}, "tests"+invariants.ImpliedRanSuffix,
		"did not run: example.com/att/calc.TestCalcHalf (calc/calc_test.go:11)", "did not run: example.com/att/calc.ExampleAdd",
		"stops tests: calc/main_test.go:8: TestMain never calls m.Run")
}

// attack: an init in a test file prints "--- PASS" lines for every test of
// the package and exits 0, which go test -json turns into pass events ->
// tests-all-ran fails on the forgery: the init's os.Exit and the framing
// marker it writes
func TestAttackInitPrintsFakePass(t *testing.T) {
	v := proposeAttack(t, "", func(d string) {
		breakHalf(t, d)
		invariants.WriteFilesForTest(t, d, map[string]string{"calc/zz_test.go": `package calc

import (
	"fmt"
	"os"
)

const done = "--- PASS: %s (0.00s)\n"

func init() {
	for _, n := range []string{"TestCalcAdd", "TestCalcHalf", "ExampleAdd"} {
		fmt.Printf("=== RUN   %s\n", n)
		fmt.Printf(done, n)
	}
	fmt.Println("PASS")
	os.Exit(0)
}
`})
	}, "tests"+invariants.ImpliedRanSuffix,
		"forges a run: calc/zz_test.go:12: writes go test's framing marker \"=== RUN\"",
		"forges a run: calc/zz_test.go:13: writes go test's framing marker \"--- PASS\"",
		"forges a run: calc/zz_test.go:16: an init function calls os.Exit")
	assert.Contains(t, strings.Join(v.Evidence, "\n"), "tests.missing = []", "the forged lines did pass for runs: only the scan catches them")
}

// attack: a test file prints go test -json's own {"Action":"pass"} events
// for the package's tests and exits 0 -> they are only output of the
// package, the tests are missing, and the forgery is named
func TestAttackForgedJSONEvents(t *testing.T) {
	proposeAttack(t, "", func(d string) {
		breakHalf(t, d)
		invariants.WriteFilesForTest(t, d, map[string]string{"calc/zz_test.go": `package calc

import (
	"fmt"
	"os"
)

func init() {
	for _, n := range []string{"TestCalcAdd", "TestCalcHalf", "ExampleAdd"} {
		fmt.Fprintf(os.Stdout, "{\"Action\":\"pass\",\"Package\":\"example.com/att/calc\",\"Test\":%q}\n", n)
	}
	os.Exit(0)
}
`})
	}, "tests"+invariants.ImpliedRanSuffix,
		"did not run: example.com/att/calc.TestCalcHalf", `writes go test's framing marker "\"Action\""`)
}

// attack: the change deletes the test of the function it breaks -> the
// census of the base (rebuilt from the diff) names it: no-deleted-tests fails
func TestAttackDeletedTest(t *testing.T) {
	proposeAttack(t, "", func(d string) {
		breakHalf(t, d)
		invariants.ReplaceInForTest(t, d, "calc/calc_test.go", calcTest[strings.Index(calcTest, "func TestCalcHalf"):], "")
	}, "no-deleted-tests", "deleted by the change: example.com/att/calc.TestCalcHalf (was calc/calc_test.go:11)")
}

// attack: the suite runs -run ^TestCalc; the change renames the failing
// test so the pattern no longer selects it -> it is deleted from what the
// suite runs: no-deleted-tests fails naming the old name
func TestAttackRenamedOutOfRun(t *testing.T) {
	proposeAttack(t, "-run, ^Test(Calc|Count), ", func(d string) {
		breakHalf(t, d)
		invariants.ReplaceInForTest(t, d, "calc/calc_test.go", "func TestCalcHalf(", "func TestHalfOfCalc(")
	}, "no-deleted-tests", "deleted by the change: example.com/att/calc.TestCalcHalf")
}

// attack: a build constraint that is never satisfied hides the failing
// test's file -> it is no longer declared for this build: no-deleted-tests
func TestAttackBuildTagHidesTest(t *testing.T) {
	proposeAttack(t, "", func(d string) {
		breakHalf(t, d)
		invariants.ReplaceInForTest(t, d, "calc/calc_test.go", "package calc\n", "//go:build never\n\npackage calc\n")
	}, "no-deleted-tests", "deleted by the change: example.com/att/calc.TestCalcHalf", "deleted by the change: example.com/att/calc.TestCalcAdd")
}

// attack: a go.mod dropped into calc/ makes it another module, which
// ./... no longer enters -> its tests are deleted from the suite
func TestAttackNestedModuleHidesPackage(t *testing.T) {
	proposeAttack(t, "", func(d string) {
		breakHalf(t, d)
		invariants.WriteFilesForTest(t, d, map[string]string{"calc/go.mod": "module example.com/att/calc\n\ngo 1.22\n"})
	}, "no-deleted-tests", "deleted by the change: example.com/att/calc.TestCalcHalf")
}

// attack: t.Skip at the top of the test that now fails -> the test ran
// (as a skip), so it is not missing; no-new-skips fails with the count
func TestAttackSkipAtTop(t *testing.T) {
	proposeAttack(t, "", func(d string) {
		breakHalf(t, d)
		invariants.ReplaceInForTest(t, d, "calc/calc_test.go", "func TestCalcHalf(t *testing.T) {\n", "func TestCalcHalf(t *testing.T) {\n\tt.Skip(\"flaky\")\n")
	}, "no-new-skips", "tests.skipped = 1", "baseline.tests.skipped = 0")
}

// A good change (a new tested function, a new test file) lands, every
// verdict passing, tests-all-ran with the census in its evidence.
func TestSandboxCensusGoodChangeLands(t *testing.T) {
	repo, _ := censusRepo(t, "")
	_, c, _, _ := openSandbox(t, repo)
	patch := invariants.MakePatchForTest(t, repo, func(d string) {
		invariants.WriteFilesForTest(t, d, map[string]string{
			"calc/double.go":      "package calc\n\nfunc Double(x int) int { return 2 * x }\n",
			"calc/double_test.go": "package calc\n\nimport \"testing\"\n\nfunc TestCalcDouble(t *testing.T) {\n\tif Double(2) != 4 {\n\t\tt.Fatal(\"Double\")\n\t}\n}\n",
		})
	})
	res, err := c.Propose(context.Background(), invariants.ProposeRequest{Patch: patch})
	require.NoError(t, err)
	require.True(t, res.Accepted, "%s %+v", res.Reason, invariants.Failing(res.Verdicts))
	invariants.RequireVerdictForTest(t, res.Verdicts, "tests"+invariants.ImpliedRanSuffix, factory.VerdictPass,
		`tests.census = "go test: 5 test(s) declared in 2 package(s); 0 did not run, 0 deleted by the change"`)
	b, err := os.ReadFile(filepath.Join(repo, "calc", "double_test.go"))
	require.NoError(t, err)
	assert.Contains(t, string(b), "TestCalcDouble")
}
