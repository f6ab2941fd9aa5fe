package invariants

import (
	"context"
	"testing"

	"github.com/factory-dev/factory"
)

// censusCases are examples/gates/proposals 03-06: each breaks a tested
// function and hides it from the suite.
func censusCases() []matrixCase {
	return []matrixCase{
		{"a TestMain exits 0 unless benchmarks run", func(t testing.TB, d string) {
			applyDemoPatch(t, d, "03-testmain-exit.patch")
		}, "tests" + ImpliedRanSuffix, []string{"did not run: example.com/gates/core.TestChecksumContract (core/contract_test.go:7)",
			"stops tests: core/main_test.go:13: TestMain calls os.Exit before m.Run"}, false},
		{"an init prints fake --- PASS lines and exits 0", func(t testing.TB, d string) {
			applyDemoPatch(t, d, "04-init-exit.patch")
		}, "tests" + ImpliedRanSuffix, []string{"forges a run: core/zz_report_test.go:14: an init function calls os.Exit",
			`core/zz_report_test.go:11: writes go test's framing marker "--- PASS"`}, false},
		{"an init prints forged go test -json pass events", func(t testing.TB, d string) {
			applyDemoPatch(t, d, "05-forged-json.patch")
		}, "tests" + ImpliedRanSuffix, []string{"did not run: example.com/gates/core.TestChecksumContract",
			`writes go test's framing marker "\"Action\""`}, false},
		{"deletes the test of what it breaks", func(t testing.TB, d string) {
			applyDemoPatch(t, d, "06-delete-test.patch")
		}, "no-deleted-tests", []string{"tests.deleted = [example.com/gates/core.TestCounterCountsWordsCaseInsensitively]",
			"deleted by the change: example.com/gates/core.TestCounterCountsWordsCaseInsensitively (was core/core_test.go:5)"}, false},
	}
}

// RunCensusMatrixForTest proposes examples/gates/proposals 03-06 against a
// repository holding examples/gates through c, and the good one last.
func RunCensusMatrixForTest(t *testing.T, repo string, c *Controller, resolve func(string) (factory.Snapshot, error)) {
	runMatrix(t, repo, c, resolve, censusCases(), goodGatesEdit, []string{"ui/ui.go", "ui/total_test.go"})
}

func TestProposeCensusMatrixOnTheGatesExample(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go test, vet and benchmarks")
	}
	repo := repoFrom(t, "../examples/gates")
	ws := newFakeWS(t, repo)
	c := newTestController(t, ws, &execRunner{}, nil, "")
	RunCensusMatrixForTest(t, repo, c, func(id string) (factory.Snapshot, error) { return ws.Resolve(context.Background(), id) })
}
