package sandbox

import (
	"context"
	"os"

	"github.com/factory-dev/factory"
	"github.com/factory-dev/factory/sandbox/patch"
)

// ApplyPatch applies req.Patch to the live working tree, all files or none
// (see package patch), with a snapshot before and after so
// snapshot_restore undoes it: report.Before and report.After are their ids.
// A dry run computes the same report, takes no snapshot and writes nothing.
// A patch that does not apply is refused before any snapshot is taken.
// The patch is read once, before the lock; if a file changed meanwhile it
// is read again under the lock.
//
// Errors, always with the report so far: EINVALID for a corrupt or unsafe
// patch, ECONFLICT when hunks or files do not apply (report.Conflicts says
// where and why), and for both nothing was written; EINTERNAL for faults
// (a failed write is rolled back first). If the snapshot after a successful
// write fails, the error is returned with report.Applied true: the patch is
// in the tree and report.Before can restore the previous state.
func (w *Workspace) ApplyPatch(ctx context.Context, req factory.PatchRequest) (factory.PatchReport, error) {
	root, err := os.OpenRoot(w.root)
	if err != nil {
		return applyIn(ctx, w.root, req) // which says why the root cannot be opened
	}
	defer root.Close()
	// The patch is read and computed once, before the lock: its writes
	// check that every file is still as read.
	opt := patchOptions(req)
	prep, rep, err := patch.Prepare(ctx, root, req.Patch, opt)
	if err != nil || req.DryRun {
		return rep, err
	}
	// One writer of the live tree at a time, in this process and across
	// processes: two patches never interleave their writes, and a patch
	// never lands between a gated change's final check and its promotion.
	// A patch refused above never takes (or creates) the lock.
	unlock, err := w.LockLanding(ctx)
	if err != nil {
		return rep, factory.Wrap("apply patch", err)
	}
	defer unlock()
	before, err := w.Snapshot(ctx, "")
	if err != nil {
		return factory.PatchReport{Files: []factory.PatchFile{}}, factory.Wrap("apply patch: snapshot before", err)
	}
	rep, err = prep.Write(ctx)
	if factory.ErrorCode(err) == factory.ECONFLICT {
		// A file changed between the read and the lock (nothing was
		// written): read it again, now that no other patch can move it.
		rep, err = patch.Apply(ctx, root, req.Patch, opt)
	}
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

// patchOptions are the options of package patch a request asks for.
func patchOptions(req factory.PatchRequest) patch.Options {
	return patch.Options{DryRun: req.DryRun, Fuzz: req.Fuzz, MaxWriteBytes: req.MaxWriteBytes, MaxFileBytes: req.MaxFileBytes}
}
