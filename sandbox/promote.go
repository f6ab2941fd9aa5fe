package sandbox

import (
	"context"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/factory-dev/factory"
	"github.com/factory-dev/factory/sandbox/gitstore"
	"github.com/factory-dev/factory/sandbox/textdiff"
	"github.com/factory-dev/factory/sandbox/txn"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
)

// FileConflict is one file the live tree and a change both modified in
// ways that do not merge. Regions is empty for whole-file conflicts
// (deleted on one side and edited on the other, both added, a binary file,
// a type or mode change on both sides).
type FileConflict struct {
	Path    string                    `json:"path"`
	Reason  string                    `json:"reason"`
	Regions []textdiff.ConflictRegion `json:"regions,omitempty"`
}

// ConflictError is the cause inside the ECONFLICT error Promote returns,
// for callers that want the files and regions as data (errors.As).
type ConflictError struct {
	Files []FileConflict `json:"files"`
}

func (e *ConflictError) Error() string {
	var b strings.Builder
	b.WriteString("the live tree changed since the base in ways that conflict with the change: ")
	for i, f := range e.Files {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(f.Path + " (" + f.Reason)
		for k, r := range f.Regions {
			if k == 3 {
				fmt.Fprintf(&b, ", and %d more", len(f.Regions)-3)
				break
			}
			if r.End < r.Start {
				fmt.Fprintf(&b, ", both insert after base line %d", r.End)
			} else {
				fmt.Fprintf(&b, ", base lines %d-%d", r.Start, r.End)
			}
		}
		b.WriteString(")")
	}
	b.WriteString(". Nothing was written; restore or re-base the change on a fresh snapshot and propose it again")
	return b.String()
}

// Promote makes the live tree carry the change from snapshot baseID to
// snapshot resultID, all or nothing. For each path the change touches: when
// the live tree still has the base's version, the result's is written; when
// it already has the result's, nothing is done; when it has a third version
// of a text file, the three are merged line by line (as git merge-file)
// and the merge is written if clean. The live tree is snapshotted first
// (RestoreResult.Undo); writes go through os.Root as one transaction that
// is rolled back on any failure. Files the change does not touch are never
// written, and the user's index, HEAD and branches are never touched.
//
// Errors: those of Resolve for either id; ECONFLICT (wrapping a
// *ConflictError that lists the files and regions) when the live tree moved
// in a way that does not merge cleanly, or an ignored file stands where the
// change writes; in every error case the live tree is unchanged.
func (w *Workspace) Promote(ctx context.Context, baseID, resultID string) (factory.RestoreResult, error) {
	op := "promote " + baseID + ".." + resultID
	_, baseT, err := w.snapTree(ctx, baseID)
	if err != nil {
		return factory.RestoreResult{}, factory.Wrap(op, err)
	}
	_, resT, err := w.snapTree(ctx, resultID)
	if err != nil {
		return factory.RestoreResult{}, factory.Wrap(op, err)
	}
	change, err := w.store.DiffTrees(ctx, baseT, resT, 0)
	if err != nil {
		return factory.RestoreResult{}, factory.Wrap(op, err)
	}
	undoID, liveT, err := w.captureLive(ctx, "")
	if err != nil {
		return factory.RestoreResult{}, factory.Wrap(op, err)
	}
	res := factory.RestoreResult{Target: resultID, Undo: undoID, Written: []string{}, Deleted: []string{}}
	if len(change) == 0 {
		return res, nil
	}
	moved, err := w.movedSince(ctx, baseT, liveT)
	if err != nil {
		return factory.RestoreResult{}, factory.Wrap(op, err)
	}
	ops, conflicts, liveAbsent, err := w.promoteOps(change, moved)
	if err != nil {
		return factory.RestoreResult{}, factory.Wrap(op, err)
	}
	conflicts = append(conflicts, w.layoutConflicts(ops, liveAbsent, moved)...)
	if len(conflicts) > 0 {
		ce := &ConflictError{Files: conflicts}
		return factory.RestoreResult{}, &factory.Error{Code: factory.ECONFLICT, Op: op, Message: ce.Error(), Err: ce}
	}
	written, deleted, err := w.applyOps(ctx, ops)
	if err != nil {
		return factory.RestoreResult{}, factory.Wrap(op, err)
	}
	res.Written = append(res.Written, written...)
	res.Deleted = append(res.Deleted, deleted...)
	return res, nil
}

// movedSince returns the paths where the live tree differs from the base.
func (w *Workspace) movedSince(ctx context.Context, baseT, liveT plumbing.Hash) (map[string]gitstore.Change, error) {
	moved := map[string]gitstore.Change{}
	if liveT == baseT {
		return moved, nil
	}
	lc, err := w.store.DiffTrees(ctx, baseT, liveT, 0)
	if err != nil {
		return nil, err
	}
	for _, c := range lc {
		moved[c.Path] = c
	}
	return moved, nil
}

// promoteOps decides each path of the change base->result against the
// live tree: nothing to do, a write or deletion, a clean merge, or a
// conflict. liveAbsent marks written paths the live snapshot lacks.
func (w *Workspace) promoteOps(change []gitstore.Change, moved map[string]gitstore.Change) (ops []txn.Op, conflicts []FileConflict, liveAbsent map[string]bool, err error) {
	liveAbsent = map[string]bool{}
	for _, c := range change {
		b, r := c.From, c.To
		l := b
		if m, ok := moved[c.Path]; ok {
			l = m.To
		}
		if (b != nil && b.Mode == filemode.Submodule) || (r != nil && r.Mode == filemode.Submodule) {
			continue // submodules are not ours to write
		}
		switch {
		case sameEntry(l, r):
			continue
		case sameEntry(l, b):
			if r == nil {
				ops = append(ops, txn.Op{Path: c.Path, Cur: l})
				continue
			}
			if l != nil && l.Hash == r.Hash && l.IsFile() && r.IsFile() {
				ops = append(ops, txn.Op{Path: c.Path, Cur: l, To: r, ModeOnly: true})
				continue
			}
			data, err := w.store.ReadBlob(r.Hash)
			if err != nil {
				return nil, nil, nil, err
			}
			ops = append(ops, txn.Op{Path: c.Path, Cur: l, To: r, Data: data})
			liveAbsent[c.Path] = l == nil
		default:
			o, fc, err := w.mergeEntry(c.Path, b, l, r)
			if err != nil {
				return nil, nil, nil, err
			}
			if fc != nil {
				conflicts = append(conflicts, *fc)
				continue
			}
			ops = append(ops, *o)
		}
	}
	return ops, conflicts, liveAbsent, nil
}

// layoutConflicts finds writes that cannot happen without deleting what
// the live tree has: an ignored file where the change adds one, or a file
// the live tree (but not the base) has where the change needs a directory.
func (w *Workspace) layoutConflicts(ops []txn.Op, liveAbsent map[string]bool, moved map[string]gitstore.Change) []FileConflict {
	var conflicts []FileConflict
	for _, o := range ops {
		if o.To == nil {
			continue
		}
		if liveAbsent[o.Path] {
			if _, err := os.Lstat(filepath.Join(w.root, filepath.FromSlash(o.Path))); err == nil {
				conflicts = append(conflicts, FileConflict{Path: o.Path,
					Reason: "an ignored file is in the live tree where the change adds one; move it away"})
				continue
			}
		}
		for d := path.Dir(o.Path); d != "."; d = path.Dir(d) {
			if m, ok := moved[d]; ok && m.To != nil {
				conflicts = append(conflicts, FileConflict{Path: o.Path,
					Reason: "the live tree has a file at " + d + " where the change needs a directory"})
				break
			}
		}
	}
	return conflicts
}

func sameEntry(a, b *gitstore.Entry) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return a.Mode == b.Mode && a.Hash == b.Hash
}

// mergeEntry merges one path that both the live tree (l) and the change
// (b→r) modified. It returns the op to write, or the conflict.
func (w *Workspace) mergeEntry(p string, b, l, r *gitstore.Entry) (*txn.Op, *FileConflict, error) {
	conflict := func(reason string) (*txn.Op, *FileConflict, error) {
		return nil, &FileConflict{Path: p, Reason: reason}, nil
	}
	switch {
	case b == nil:
		return conflict("added by both with different content")
	case l == nil:
		return conflict("deleted in the live tree, changed by the change")
	case r == nil:
		return conflict("changed in the live tree, deleted by the change")
	case !b.IsFile() || !l.IsFile() || !r.IsFile():
		return conflict("a symlink or a type change on both sides")
	}
	mode := r.Mode
	switch {
	case l.Mode == b.Mode:
	case r.Mode == b.Mode:
		mode = l.Mode
	case l.Mode != r.Mode:
		return conflict("the executable bit changed on both sides")
	}
	var blobs [3][]byte
	for i, h := range []plumbing.Hash{b.Hash, l.Hash, r.Hash} {
		data, err := w.store.ReadBlob(h)
		if err != nil {
			return nil, nil, err
		}
		blobs[i] = data
	}
	if textdiff.IsBinary(blobs[0]) || textdiff.IsBinary(blobs[1]) || textdiff.IsBinary(blobs[2]) {
		return conflict("a binary file changed on both sides")
	}
	merged, regions := textdiff.Merge3(blobs[0], blobs[1], blobs[2])
	if len(regions) > 0 {
		return nil, &FileConflict{Path: p, Reason: "edited on both sides", Regions: regions}, nil
	}
	return &txn.Op{Path: p, Cur: l, To: &gitstore.Entry{Mode: mode}, Data: merged}, nil, nil
}
