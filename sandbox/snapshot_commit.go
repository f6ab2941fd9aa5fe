package sandbox

import (
	"context"
	"time"

	"github.com/factory-dev/factory"
	"github.com/factory-dev/factory/sandbox/gitstore/gitdir"
	"github.com/go-git/go-git/v5/plumbing"
)

// SnapshotCommit makes a snapshot whose tree is the tree of commit (a full
// hex object id), so a commit can serve where a snapshot is expected: the
// baseline of `factory check --base REF`. Its parent is that commit, so its
// change counts are zero. Errors: EINVALID for a malformed id, ENOTFOUND
// for a commit the object store lacks.
func (w *Workspace) SnapshotCommit(ctx context.Context, commit, label string) (string, error) {
	if err := checkLabel(label); err != nil {
		return "", err
	}
	c, ok := gitdir.ParseHex(commit)
	if !ok {
		return "", factory.Errorf(factory.EINVALID, "%q is not a full commit id", commit)
	}
	w.snap.mu.Lock()
	defer w.snap.mu.Unlock()
	tree, err := w.store.CommitTree(c)
	if err != nil {
		return "", factory.Errorf(factory.ENOTFOUND, "commit %s is not in this repository: %v", commit, err)
	}
	call := factory.CallFrom(ctx)
	s := factory.Snapshot{Tree: tree.String(), Parent: c.String(), Label: label, RunID: call.RunID, StepID: call.StepID, Created: time.Now().UTC()}
	body := encodeSnapshotCommit(s, "commit")
	ch, err := w.store.WriteObject(plumbing.CommitObject, body)
	if err != nil {
		return "", factory.Wrap("snapshot commit", err)
	}
	id, err := w.createSnapshotRef(ch)
	if err != nil {
		return "", factory.Wrap("snapshot commit: create ref", err)
	}
	return id, nil
}
