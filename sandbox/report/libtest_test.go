package report

import (
	"testing"

	"github.com/factory-dev/factory"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// cargo test's plain output (a real run of the rust-cargo fixture with
// failing tests added): per-test cases by binary, each failure at its
// panic with assert_eq!'s left and right in the message.
func TestParseLibtest(t *testing.T) {
	res := ParseExitCode("rust", 101, false, read(t, "libtest-fail.txt"))
	rep := Build(res, Input{Suite: "rust", Format: factory.FormatExitCode, ExitCode: 101})
	assert.Equal(t, factory.TestFail, rep.Status)
	assert.Equal(t, factory.TestCounts{Total: 8, Passed: 4, Failed: 3, Skipped: 1}, rep.Counts)
	require.Len(t, rep.Failures, 3)
	byName := map[string]factory.TestFailure{}
	for _, f := range rep.Failures {
		byName[f.Name] = f
	}
	w := byName["more::wrong"]
	assert.Equal(t, "src/lib.rs", w.Package)
	assert.Equal(t, "src/lib.rs", w.File)
	assert.Equal(t, 29, w.Line)
	assert.Equal(t, "assertion `left == right` failed: sum of [1, 2] (left: 3, right: 4)", w.Message)
	assert.Equal(t, "assertion `left == right` failed (left: 3, right: 5)", byName["more::wrong2"].Message)
	b := byName["more::boom"]
	assert.Equal(t, "boom here", b.Message)
	assert.Equal(t, 37, b.Line)
	assert.NotContains(t, b.Output, "note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace")
	assert.Contains(t, rep.Ran, "tests/ledger.rs.largest_finds_max")
}

func TestParseLibtestBuildError(t *testing.T) {
	res := ParseExitCode("rust", 101, false, read(t, "libtest-build.txt"))
	rep := Build(res, Input{Suite: "rust", Format: factory.FormatExitCode, ExitCode: 101})
	assert.Equal(t, factory.TestError, rep.Status)
	require.Len(t, rep.BuildErrors, 1)
	assert.Equal(t, "mismatched types", rep.BuildErrors[0].Message)
	assert.Equal(t, "src/lib.rs", rep.BuildErrors[0].File)
	assert.Equal(t, 43, rep.BuildErrors[0].Line)
	assert.Empty(t, rep.Failures, "the failed build is the build error, not a failing test")
}

// Output that is not cargo's stays one case named after the suite.
func TestParseExitCodeNotLibtest(t *testing.T) {
	res := ParseExitCode("make", 2, false, []byte("make: *** [test] Error 2\n"))
	require.Len(t, res.Cases, 1)
	assert.Equal(t, "make", res.Cases[0].Name)
}
