package sandbox

import (
	"context"

	"github.com/factory-dev/factory"
)

// ApplyPatch applies req.Patch to the live working tree, all files or none
// (see package patch), with a snapshot before and after so
// snapshot_restore undoes it: report.Before and report.After are their ids.
// A dry run computes the same report, takes no snapshot and writes nothing.
// A patch that does not apply is refused before any snapshot is taken.
//
// Errors, always with the report so far: EINVALID for a corrupt or unsafe
// patch, ECONFLICT when hunks or files do not apply (report.Conflicts says
// where and why), and for both nothing was written; EINTERNAL for faults
// (a failed write is rolled back first). If the snapshot after a successful
// write fails, the error is returned with report.Applied true: the patch is
// in the tree and report.Before can restore the previous state.
func (w *Workspace) ApplyPatch(ctx context.Context, req factory.PatchRequest) (factory.PatchReport, error) {
	dry := req
	dry.DryRun = true
	rep, err := applyIn(ctx, w.root, dry)
	if err != nil || req.DryRun {
		return rep, err
	}
	// One writer of the live tree at a time, in this process and across
	// processes: two patches never interleave their writes, and a patch
	// never lands between a gated change's final check and its promotion.
	// A patch refused above never takes (or creates) the lock; the apply
	// below checks it again under the lock.
	unlock, err := w.LockLanding(ctx)
	if err != nil {
		return rep, factory.Wrap("apply patch", err)
	}
	defer unlock()
	before, err := w.Snapshot(ctx, "")
	if err != nil {
		return factory.PatchReport{Files: []factory.PatchFile{}}, factory.Wrap("apply patch: snapshot before", err)
	}
	rep, err = applyIn(ctx, w.root, req)
	rep.Before = before.ID
	if err != nil {
		return rep, err
	}
	after, err := w.Snapshot(ctx, "")
	if err != nil {
		return rep, factory.Wrap("apply patch: applied, but the snapshot after failed", err)
	}
	rep.After = after.ID
	return rep, nil
}
