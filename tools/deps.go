package tools

import (
	"context"
	"log/slog"

	"github.com/factory-dev/factory"
	"github.com/factory-dev/factory/invariants"
	"github.com/factory-dev/factory/invariants/rules"
	"github.com/factory-dev/factory/sandbox"
	"github.com/factory-dev/factory/traces"
)

// Runs is the part of the server that owns the current run of a
// connection. server/ implements it.
type Runs interface {
	// Start ends the connection's current run and begins a new one.
	Start(ctx context.Context, name, workflow string) (factory.Run, error)
}

// Gate is the gate: factory.yaml's rules as committed, a check of a tree
// against them, and a change let into the live tree only when it passes
// them. invariants.Controller is the gate; tests give a fake.
type Gate interface {
	// Rules returns factory.yaml as committed and a note when the working
	// copy differs.
	Rules(ctx context.Context) (cfg *rules.Config, note string, err error)
	// RulesOrDetect is Rules, or the defaults with the suites detect finds
	// when nothing is committed.
	RulesOrDetect(ctx context.Context, detect func(root string) []factory.Suite) (cfg *rules.Config, note string, err error)
	Check(ctx context.Context, req invariants.CheckRequest) (invariants.CheckResult, error)
	Propose(ctx context.Context, req invariants.ProposeRequest) (invariants.ProposeResult, error)
}

var _ Gate = (*invariants.Controller)(nil)

// Deps is everything the tools call into. Fields left nil switch off the
// tools that need them (New leaves those tools out; see registry).
type Deps struct {
	Log       *slog.Logger       // nil means slog.Default()
	Store     *traces.Store      // the run log; required
	Workspace *sandbox.Workspace // the workspace; nil leaves out workspace, change, test and invariants tools
	Gate      Gate               // the gate; nil leaves out invariant_list, invariant_check and change_propose
	Runs      Runs               // nil leaves out run_start
	Version   string             // factory's version, for doctor
	DBPath    string             // the run log's path, for doctor
	// Detect proposes suites for a workspace without factory.yaml (a
	// testrun.Detector's, shared by every tool and the completer, keeps its
	// probes' answers); nil means testrun.DetectSuites, which keeps none.
	Detect func(root string) []factory.Suite
}

// New returns every tool of the registry that deps can serve, in the
// registry's order.
func New(d Deps) []Tool {
	if d.Log == nil {
		d.Log = slog.Default()
	}
	var out []Tool
	for _, ts := range registry() {
		for _, e := range ts.tools {
			if !d.has(e.needs) {
				continue
			}
			t := e.make(d)
			t.Toolset = ts.name
			out = append(out, t)
		}
	}
	return out
}
