package testrun

import (
	"context"
	"sort"

	"github.com/factory-dev/factory"
	"github.com/factory-dev/factory/invariants"
	"github.com/factory-dev/factory/invariants/gates"
	"github.com/factory-dev/factory/sandbox"
	"github.com/factory-dev/factory/sandbox/proc"
)

// The sandbox side of the gates: Runner is invariants' Runner, Workspace
// its Workspace.

var (
	_ gates.Runner         = (*Runner)(nil)
	_ invariants.Workspace = Workspace{}
)

// RunCommand runs one gate command through proc.Run, confined by c.Policy
// with its tree (c.Root, else c.Dir) the only writable one. A copy is shown
// at the live tree's path, so the go build cache (keyed on absolute paths)
// hits as for a build in the workspace; the result's Dir tells the gates
// where the command saw its directory. The environment is the policy's
// allowed variables plus c.Env, in a fixed order.
func (rn *Runner) RunCommand(ctx context.Context, c gates.Command) (gates.CommandResult, error) {
	cmd := proc.Cmd{Argv: c.Argv, Dir: c.Dir, Env: envWith(c.Policy.EnvAllow, c.Env), Timeout: c.Timeout, MaxOutput: c.MaxOutput}
	tree := c.Root
	if tree == "" {
		tree = c.Dir
	}
	cmd.Confine = &proc.Confinement{Policy: c.Policy, Writable: []string{tree}}
	if root := rn.ws.Root(); tree != root {
		cmd.Confine.MountAs = proc.Mount{Src: tree, Dst: root}
		cmd.Confine.Deps = liveDeps(root, tree)
	}
	res, err := proc.Run(ctx, cmd)
	if err != nil {
		return gates.CommandResult{}, err
	}
	return gates.CommandResult{ExitCode: res.ExitCode, Stdout: res.Stdout, Stderr: res.Stderr, TimedOut: res.TimedOut, Duration: res.Duration, CPU: res.CPU, Dir: res.Dir}, nil
}

// RunSuite runs the suite on the snapshot in a fresh isolated copy of its
// own (the cached overlay of that tree makes this cheap), so the copy a
// gate reads facts from is never the one tests wrote into.
func (rn *Runner) RunSuite(ctx context.Context, run gates.SuiteRun) (factory.TestReport, error) {
	rep, _, err := rn.Run(ctx, Job{
		Suite:   run.Suite,
		Policy:  run.Policy,
		Request: factory.TestRequest{Suite: run.Suite.Name, Snapshot: run.Snapshot},
	})
	return rep, err
}

// Workspace is *sandbox.Workspace as invariants.Workspace sees it.
type Workspace struct{ *sandbox.Workspace }

// Isolate makes an isolated copy of the snapshot; the caller closes it.
func (w Workspace) Isolate(ctx context.Context, snapshotID string) (invariants.Copy, error) {
	c, err := w.Workspace.Isolate(ctx, snapshotID)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// Commit records tree as a commit on HEAD's branch with message.
func (w Workspace) Commit(ctx context.Context, tree, message string) (string, error) {
	return w.Workspace.Commit(ctx, sandbox.CommitRequest{Tree: tree, Message: message})
}

// envWith is the base environment the policy allows plus extra, in a
// fixed order.
func envWith(allow []string, extra map[string]string) []string {
	env := proc.BaseEnv(allow)
	keys := make([]string, 0, len(extra))
	for k := range extra {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		env = append(env, k+"="+extra[k])
	}
	return env
}
