package sandbox

import (
	"context"

	"github.com/factory-dev/factory"
	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
)

// Prune applies the retention policy: it keeps every labelled snapshot and
// the newest keep unlabelled ones (keep 0 means Config.Keep, itself 500 by
// default), and deletes the refs of the others. Objects are left for git gc
// to collect. It returns the snapshots deleted (or, with dryRun, those that
// would be), newest first. Errors: EINVALID for a negative keep; EINTERNAL
// when a ref cannot be deleted (those deleted before stay deleted).
func (w *Workspace) Prune(ctx context.Context, keep int, dryRun bool) ([]factory.Snapshot, error) {
	if keep < 0 {
		return nil, factory.Errorf(factory.EINVALID, "keep %d is negative; give how many unlabelled snapshots to keep, or 0 for the configured default (%d)", keep, w.cfg.Keep)
	}
	if keep == 0 {
		keep = w.cfg.Keep
	}
	if keep <= 0 {
		keep = 500
	}
	w.snap.mu.Lock()
	defer w.snap.mu.Unlock()
	all, err := w.allSnapshots(ctx)
	if err != nil {
		return nil, factory.Wrap("prune snapshots", err)
	}
	var gone []factory.Snapshot
	kept := 0
	for _, s := range all {
		if s.Label != "" {
			continue
		}
		if kept < keep {
			kept++
			continue
		}
		gone = append(gone, s)
	}
	if dryRun || len(gone) == 0 {
		return gone, nil
	}
	for i, s := range gone {
		if err := ctx.Err(); err != nil {
			return gone[:i], factory.Wrap("prune snapshots", err)
		}
		if err := w.removeSnapshotRef(s); err != nil {
			return gone[:i], factory.Wrap("prune snapshot "+s.ID, err)
		}
		if w.snap.latest != nil && w.snap.latest.ID == s.ID {
			w.snap.latest = nil
		}
	}
	w.store.Forget()
	return gone, nil
}

// removeSnapshotRef deletes the ref of s (loose and packed) if it still
// points at s's commit.
func (w *Workspace) removeSnapshotRef(s factory.Snapshot) error {
	name := plumbing.ReferenceName(snapshotRefPrefix + s.ID)
	return w.store.WithRepo(func(repo *git.Repository) error {
		r, err := repo.Storer.Reference(name)
		if err != nil {
			return nil // already gone
		}
		if r.Hash().String() != s.Commit {
			return nil // replaced meanwhile: not ours to delete
		}
		return repo.Storer.RemoveReference(name)
	})
}
