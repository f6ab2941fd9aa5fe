package tools

import (
	"context"
	"log/slog"

	"github.com/factory-dev/factory"
	"github.com/factory-dev/factory/invariants"
	"github.com/factory-dev/factory/sandbox"
	"github.com/factory-dev/factory/traces"
)

// Runs is the part of the server that owns the current run of a
// connection. server/ implements it.
type Runs interface {
	// Start ends the connection's current run and begins a new one.
	Start(ctx context.Context, name, workflow string) (factory.Run, error)
}

// Deps is everything the tools call into. Fields left nil switch off the
// tools that need them (New leaves those tools out).
type Deps struct {
	Log       *slog.Logger           // nil means slog.Default()
	Store     *traces.Store          // the run log; required
	Workspace *sandbox.Workspace     // the workspace; nil leaves out workspace, change, test and invariants tools
	Gate      *invariants.Controller // the change controller; nil leaves out invariant and change_propose tools
	Runs      Runs                   // nil leaves out run_start
	Version   string                 // factory's version, for doctor
	DBPath    string                 // the run log's path, for doctor
}

// New returns every tool that deps can serve, in a stable order.
func New(d Deps) []Tool {
	if d.Log == nil {
		d.Log = slog.Default()
	}
	var out []Tool
	if d.Workspace != nil {
		out = append(out, snapshotTools(d)...)
		out = append(out, workspaceTools(d)...)
	}
	if d.Workspace != nil && d.Gate != nil {
		out = append(out, invariantTools(d)...)
	}
	out = append(out, traceTools(d)...)
	out = append(out, doctorTool(d))
	return out
}
