package tools_test

import (
	"os"
	"testing"

	"github.com/factory-dev/factory/sandbox/proc"
)

// TestMain lets proc re-execute this test binary as the confined child,
// as factory's own binary does: without it a sandboxed go test sees the
// host's build cache read-only, and its second run in a copy fails to
// build (regression_find and flaky_check run go test many times).
func TestMain(m *testing.M) {
	proc.Init()
	os.Exit(m.Run())
}
