package main

import (
	"context"
	"sort"

	"github.com/factory-dev/factory"
	"github.com/factory-dev/factory/invariants"
	"github.com/factory-dev/factory/sandbox"
	"github.com/factory-dev/factory/sandbox/proc"
)

// gateWorkspace adapts *sandbox.Workspace to invariants.Workspace.
type gateWorkspace struct{ *sandbox.Workspace }

var _ invariants.Workspace = gateWorkspace{}

func (g gateWorkspace) Isolate(ctx context.Context, snapshotID string) (invariants.Copy, error) {
	return g.Workspace.Isolate(ctx, snapshotID)
}

func (g gateWorkspace) Commit(ctx context.Context, tree, message string) (string, error) {
	return g.Workspace.Commit(ctx, sandbox.CommitRequest{Tree: tree, Message: message})
}

// gateRunner adapts sandbox/proc and the test runner to invariants.Runner.
type gateRunner struct{ ws *sandbox.Workspace }

var _ invariants.Runner = gateRunner{}

func (r gateRunner) RunCommand(ctx context.Context, c invariants.Command) (invariants.CommandResult, error) {
	env := proc.BaseEnv(c.Policy.EnvAllow)
	keys := make([]string, 0, len(c.Env))
	for k := range c.Env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		env = append(env, k+"="+c.Env[k])
	}
	cmd := proc.Cmd{Argv: c.Argv, Dir: c.Dir, Env: env, Timeout: c.Timeout, MaxOutput: c.MaxOutput}
	// the copy is shown at the live tree's path, so the go build cache
	// (keyed on absolute paths) hits as for a build in the workspace;
	// res.Dir tells the gates where the command saw its directory
	tree := c.Root
	if tree == "" {
		tree = c.Dir
	}
	cmd.Confine = &proc.Confinement{Policy: c.Policy, Writable: []string{tree}}
	if tree != r.ws.Root() {
		cmd.Confine.MountAs = proc.Mount{Src: tree, Dst: r.ws.Root()}
	}
	res, err := proc.Run(ctx, cmd)
	if err != nil {
		return invariants.CommandResult{}, err
	}
	return invariants.CommandResult{ExitCode: res.ExitCode, Stdout: res.Stdout, Stderr: res.Stderr, TimedOut: res.TimedOut, Duration: res.Duration, CPU: res.CPU, Dir: res.Dir}, nil
}

// RunSuite runs the suite on the snapshot in a fresh isolated copy of its
// own (the sandbox's cached overlay of that tree makes this cheap), so the
// copy a gate reads facts from is never the one tests wrote into.
func (r gateRunner) RunSuite(ctx context.Context, run invariants.SuiteRun) (factory.TestReport, error) {
	rep, _, err := r.ws.RunTests(ctx, sandbox.TestRun{
		Suite:   run.Suite,
		Policy:  run.Policy,
		Request: factory.TestRequest{Suite: run.Suite.Name, Snapshot: run.Snapshot},
	})
	return rep, err
}
