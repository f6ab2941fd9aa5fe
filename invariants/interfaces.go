package invariants

import (
	"context"

	"github.com/factory-dev/factory"
	"github.com/factory-dev/factory/invariants/rules"
)

// Workspace is what the controller needs from the sandbox: snapshots,
// isolated copies, patch application in a copy, diffs and promotion into the
// live tree. sandbox/testrun adapts *sandbox.Workspace to it.
type Workspace interface {
	// Root is the live working tree's top directory.
	Root() string
	// Snapshot captures the live tree.
	Snapshot(ctx context.Context, label string) (factory.Snapshot, error)
	// Resolve finds a snapshot by id; ENOTFOUND when there is none.
	Resolve(ctx context.Context, id string) (factory.Snapshot, error)
	// ResolveTree finds the snapshot a snapshot id or any git revision
	// (HEAD~1, a branch, a tag, a hash) names, a revision becoming a
	// snapshot of its tree; EINVALID when name designates neither.
	ResolveTree(ctx context.Context, name string) (factory.Snapshot, error)
	// SnapshotRevision makes a snapshot of a committed revision's tree
	// (HEAD: a check's default baseline); ENOTFOUND when rev names nothing.
	SnapshotRevision(ctx context.Context, rev, label string) (factory.Snapshot, error)
	// ConfigSource reads factory.yaml as committed: the rules never come
	// from the working tree.
	rules.ConfigSource
	// Diff returns the file stats (and a capped patch) between snapshots.
	Diff(ctx context.Context, from, to string, maxPatch int) (factory.SnapshotDiff, error)
	// FullDiff returns the whole unified diff between snapshots.
	FullDiff(ctx context.Context, from, to string) (string, error)
	// Isolate materialises a snapshot in a private directory; the caller
	// closes the copy.
	Isolate(ctx context.Context, snapshotID string) (Copy, error)
	// Promote writes the change base->result into the live tree, merging
	// with live edits made since base; ECONFLICT when that cannot be done
	// cleanly, in which case nothing was written.
	Promote(ctx context.Context, baseID, resultID string) (factory.RestoreResult, error)
	// LockLanding serialises landing in the live tree and on the branch,
	// across goroutines and processes; unlock releases it. ETIMEOUT when
	// ctx ends first.
	LockLanding(ctx context.Context) (unlock func(), err error)
	// Commit records tree, exactly, as a commit whose parent is HEAD,
	// moves HEAD's branch to it and makes the index match, with no hook
	// or other repository code run on the host; it returns the commit id.
	Commit(ctx context.Context, tree, message string) (string, error)
	// MarkAccepted records that the gate accepted the tree of snapshot id,
	// where the commit hooks look it up.
	MarkAccepted(ctx context.Context, snapshotID string) error
}

// Copy is an isolated copy of a snapshot: a private directory where gates
// run and a patch is tried without touching the live tree.
type Copy interface {
	// Dir is the copy's top directory.
	Dir() string
	// Apply applies a patch to the copy's files, all files or none.
	Apply(ctx context.Context, req factory.PatchRequest) (factory.PatchReport, error)
	// Snapshot captures the copy into the workspace's object store.
	Snapshot(ctx context.Context, label string) (factory.Snapshot, error)
	// Close removes the copy.
	Close() error
}

// Steps records the controller's phases as child steps of the current
// request. Begin returns the context for the phase and a function that ends
// it with a factory.Step* status and the error, if any. A nil Steps records
// nothing.
type Steps interface {
	Begin(ctx context.Context, name string) (context.Context, func(status string, err error))
}

// begin is nil-safe Steps.Begin.
func begin(s Steps, ctx context.Context, name string) (context.Context, func(error)) {
	if s == nil {
		return ctx, func(error) {}
	}
	c, end := s.Begin(ctx, name)
	return c, func(err error) {
		st := factory.StepOK
		switch {
		case err == nil:
		case ctx.Err() != nil:
			st = factory.StepCancelled
		case factory.ErrorCode(err) == factory.EINTERNAL:
			st = factory.StepError
		default:
			st = factory.StepToolError
		}
		end(st, err)
	}
}
