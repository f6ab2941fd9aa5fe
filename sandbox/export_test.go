package sandbox

import (
	"context"

	"github.com/factory-dev/factory"
	"github.com/factory-dev/factory/sandbox/gitstore"
	"github.com/go-git/go-git/v5/plumbing"
)

// SetTestNoOverlay lets the external tests and benchmarks force plain
// copies of w.
func SetTestNoOverlay(w *Workspace, v bool) { w.noOverlay = v }

// Materialize writes the tree of snapshot snapshotID into dir (empty or
// new), for tests that compare a copy with the tree it should hold.
func (w *Workspace) Materialize(ctx context.Context, snapshotID, dir string) error {
	s, err := w.Resolve(ctx, snapshotID)
	if err != nil {
		return err
	}
	return w.copies.Materialize(ctx, plumbing.NewHash(s.Tree), dir)
}

// SnapshotDir captures dir, laid out like the workspace but not one of its
// copies, for tests of the capture of arbitrary directories.
func (w *Workspace) SnapshotDir(ctx context.Context, dir, label string) (factory.Snapshot, error) {
	return w.snapshot(ctx, dir, nil, label, "dir")
}

// SetTestNoIncremental lets the external benchmarks force overlay copies
// of w to materialise their own tree (the behaviour before incremental
// copies).
func SetTestNoIncremental(w *Workspace, v bool) { w.noIncremental = v }

// SetTestNoFastCopySnap lets the external benchmarks force the full walk
// when capturing an overlay copy of w.
func SetTestNoFastCopySnap(w *Workspace, v bool) { w.noFastOverlay = v }

// LastCaptureOf says what the last capture of w's live tree read.
func LastCaptureOf(w *Workspace) gitstore.CaptureInfo { return w.store.LastCapture() }
