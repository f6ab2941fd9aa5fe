package sandbox

import (
	"context"

	"github.com/factory-dev/factory"
	"github.com/factory-dev/factory/sandbox/revwalk"
	"github.com/factory-dev/factory/sandbox/textdiff"
)

// CommitInfo is one commit of a history walk.
type CommitInfo = revwalk.CommitInfo

// FirstParents returns the commits from revision from to revision to,
// both included, oldest first, as revwalk.FirstParents walks them (a
// merge stands for the commits it brought in, as in git bisect
// --first-parent). Errors: those of ReadFileAt's revision; EINVALID when
// from is not a first-parent ancestor of to within limit commits.
func (w *Workspace) FirstParents(ctx context.Context, from, to string, limit int) ([]CommitInfo, error) {
	const op = "first-parent history"
	start, _, err := w.revisionTree(ctx, from)
	if err != nil {
		return nil, factory.Wrap(op, err)
	}
	end, _, err := w.revisionTree(ctx, to)
	if err != nil {
		return nil, factory.Wrap(op, err)
	}
	out, ok, err := revwalk.FirstParents(ctx, w.store, start, end, limit)
	if err != nil {
		return nil, factory.Wrap(op, err)
	}
	if !ok {
		return nil, factory.Errorf(factory.EINVALID, "%s is not a first-parent ancestor of %s within %d commits; pass an older good that %s descends from", textdiff.Clip(from, 40), textdiff.Clip(to, 40), limit, textdiff.Clip(to, 40))
	}
	return out, nil
}
