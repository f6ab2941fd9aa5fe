package sandbox

import (
	"context"
	"os"

	"github.com/factory-dev/factory"
	"github.com/factory-dev/factory/sandbox/copies"
	"github.com/factory-dev/factory/sandbox/patch"
	"github.com/go-git/go-git/v5/plumbing"
)

// Kinds of isolated copy, best first.
const (
	CopyOverlay = copies.KindOverlay // overlayfs over a cached, read-only materialisation of the tree
	CopyPlain   = copies.KindPlain   // the tree's files written into a fresh directory
)

// Copy is an isolated copy of the workspace at a snapshot: a directory
// holding the snapshot's whole tree (tracked and untracked-but-not-ignored
// files; ignored files such as build caches are not in it) where commands
// can run and write without touching the live tree. It has no .git. The
// copy is patched with Apply and captured with Snapshot; Close removes it.
type Copy struct {
	w    *Workspace
	d    *copies.Dir
	base factory.Snapshot
}

// Dir returns the copy's top directory.
func (c *Copy) Dir() string { return c.d.Path }

// Base returns the snapshot the copy was made from.
func (c *Copy) Base() factory.Snapshot { return c.base }

// Kind returns CopyOverlay or CopyPlain.
func (c *Copy) Kind() string { return c.d.Kind }

// Close unmounts and removes the copy. It is safe to call more than once;
// the error is that of the first call.
func (c *Copy) Close() error {
	if c == nil {
		return nil
	}
	return c.d.Close()
}

// Apply applies req.Patch to the copy's files, all files or none, through
// an os.Root opened on the copy. It takes no snapshots. Errors as for
// Workspace.ApplyPatch, plus EINVALID when the copy is gone.
func (c *Copy) Apply(ctx context.Context, req factory.PatchRequest) (factory.PatchReport, error) {
	return applyIn(ctx, c.Dir(), req)
}

// Snapshot captures the copy, with the workspace's ignore rules and object
// store, as a snapshot whose parent is the workspace's HEAD. The
// workspace's index says which paths are tracked (so tracked files inside
// ignored folders are kept) but its stat data are not trusted for the
// copy; an overlay copy is read through its upper dir (only what was
// written in it). Errors as for Workspace.Snapshot.
func (c *Copy) Snapshot(ctx context.Context, label string) (factory.Snapshot, error) {
	ov := c.d.Overlay
	if c.w.noFastOverlay {
		ov = nil
	}
	return c.w.snapshot(ctx, c.Dir(), ov, label, "dir")
}

// Isolate makes an isolated copy of snapshot snapshotID ("" snapshots the
// live tree first), under Config.TempDir (os.TempDir() when empty): an
// overlay over a cached materialisation of the tree where overlays work
// (as root), else a plain copy; see package copies. The caller must Close
// the copy.
//
// Errors: those of Resolve (or Snapshot) for the id; EINTERNAL when
// neither kind of copy could be made.
func (w *Workspace) Isolate(ctx context.Context, snapshotID string) (*Copy, error) {
	var snap factory.Snapshot
	var err error
	if snapshotID == "" {
		snap, err = w.Snapshot(ctx, "")
	} else {
		snap, err = w.Resolve(ctx, snapshotID)
	}
	if err != nil {
		return nil, factory.Wrap("isolate", err)
	}
	d, err := w.copies.Make(ctx, plumbing.NewHash(snap.Tree), copies.Options{NoOverlay: w.noOverlay, NoIncremental: w.noIncremental})
	if err != nil {
		return nil, factory.Wrap("isolate", err)
	}
	return &Copy{w: w, d: d, base: snap}, nil
}

// applyIn applies req.Patch to the directory dir, all files or none,
// through an os.Root opened on dir.
func applyIn(ctx context.Context, dir string, req factory.PatchRequest) (factory.PatchReport, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return factory.PatchReport{DryRun: req.DryRun, Files: []factory.PatchFile{}},
			factory.Errorf(factory.EINVALID, "cannot open %s as the directory to patch: %v", dir, err)
	}
	defer root.Close()
	return patch.Apply(ctx, root, req.Patch, patchOptions(req))
}
