package testrun_test

import (
	"os"
	"testing"

	"github.com/factory-dev/factory/sandbox/proc"
)

// TestMain lets proc re-execute this test binary as the confined child of
// the native isolation path: proc.Init takes over (and never returns) in that
// child, and returns at once in the test process itself.
func TestMain(m *testing.M) {
	proc.Init()
	code := m.Run()
	if benchModDir != "" {
		os.RemoveAll(benchModDir) // the benchmarks' generated module
	}
	os.Exit(code)
}
