package server_test

import (
	"github.com/factory-dev/factory/invariants"
	"github.com/factory-dev/factory/server"
)

// server records the gate's phases without importing invariants; this is
// the guard that it still fits.
var _ invariants.Steps = server.ChildSteps{}
