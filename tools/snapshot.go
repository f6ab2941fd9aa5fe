package tools

import (
	"context"

	"github.com/factory-dev/factory"
	"github.com/factory-dev/factory/sandbox"
)

type snapshotCreateArgs struct {
	Label string `json:"label,omitempty" jsonschema:"a short label, e.g. 'before refactor'; labelled snapshots are never pruned"`
}

type snapshotCreateResult struct {
	Snapshot factory.Snapshot `json:"snapshot"`
}

type snapshotListArgs struct {
	Label string `json:"label,omitempty" jsonschema:"only snapshots with this label"`
	Run   string `json:"run,omitempty" jsonschema:"only snapshots created in this run ('current' for this session's run)"`
	Limit int    `json:"limit,omitempty" jsonschema:"at most this many (default 20, max 200)"`
}

type snapshotListResult struct {
	Snapshots []factory.Snapshot `json:"snapshots"`
}

type snapshotDiffArgs struct {
	From     string `json:"from" jsonschema:"snapshot id or revision (HEAD~1, a branch, ...)"`
	To       string `json:"to,omitempty" jsonschema:"snapshot id or revision; omit for the live tree"`
	MaxBytes int    `json:"max_bytes,omitempty" jsonschema:"cap on the inline diff (default 32768)"`
}

type snapshotDiffResult struct {
	factory.SnapshotDiff
	FullDiff string `json:"full_diff,omitempty"` // resource URI of the whole diff, when it was cut
}

type snapshotRestoreArgs struct {
	ID    string   `json:"id" jsonschema:"snapshot id or git revision to restore"`
	Paths []string `json:"paths,omitempty" jsonschema:"restore only these files or directories (relative to the workspace root); omit for the whole tree"`
}

func snapshotCreate(d Deps) Tool {
	return defineRecording(d, "snapshot_create",
		"Capture the working tree (tracked changes and untracked, not-ignored files) as a snapshot, without touching the git index, HEAD or branches. Returns the latest snapshot again if nothing changed since it.",
		annotations{title: "Create a snapshot", idempotent: true},
		func(ctx context.Context, a snapshotCreateArgs) (snapshotCreateResult, records, error) {
			if err := checkText("label", a.Label, 200); err != nil {
				return snapshotCreateResult{}, records{}, err
			}
			s, err := d.Workspace.Snapshot(ctx, a.Label)
			var recs records
			if err == nil && !s.Reused {
				recs.snapshots = []factory.Snapshot{s}
			}
			return snapshotCreateResult{Snapshot: s}, recs, err
		})
}

func snapshotList(d Deps) Tool {
	return define(d, "snapshot_list",
		"List snapshots, newest first, with label, creating run and change counts against HEAD.",
		annotations{title: "List snapshots", readOnly: true, idempotent: true},
		func(ctx context.Context, a snapshotListArgs) (snapshotListResult, error) {
			limit := a.Limit
			if limit <= 0 {
				limit = 20
			}
			if limit > 200 {
				limit = 200
			}
			run := a.Run
			if run == "current" {
				run = factory.CallFrom(ctx).RunID
			}
			ss, err := d.Workspace.Snapshots(ctx, sandbox.SnapshotFilter{Label: a.Label, RunID: run, Limit: limit})
			if ss == nil {
				ss = []factory.Snapshot{}
			}
			return snapshotListResult{Snapshots: ss}, err
		})
}

func snapshotDiff(d Deps) Tool {
	return defineRecording(d, "snapshot_diff",
		"What changed between two trees (snapshot ids or revisions) or a tree and the live tree: a stat per file and a capped unified diff; the whole diff is a resource (full_diff).",
		annotations{title: "Diff snapshots", readOnly: true, idempotent: true},
		func(ctx context.Context, a snapshotDiffArgs) (snapshotDiffResult, records, error) {
			if a.From == "" {
				return snapshotDiffResult{}, records{}, factory.Errorf(factory.EINVALID, "from is required: a snapshot id from snapshot_list or a git revision such as HEAD~1")
			}
			from, to, err := resolvePair(ctx, d.Workspace, a.From, a.To)
			if err != nil {
				return snapshotDiffResult{}, records{}, err
			}
			diff, err := d.Workspace.Diff(ctx, from, to, a.MaxBytes)
			if err != nil {
				return snapshotDiffResult{}, records{}, err
			}
			res := snapshotDiffResult{SnapshotDiff: diff}
			if !diff.Truncated || !d.keepsBlobs() {
				return res, records{}, nil
			}
			full, err := d.Workspace.FullDiff(ctx, from, diff.To)
			if err != nil {
				return res, records{}, err
			}
			// The copy in the run log is redacted, for reading; snapshot_diff
			// recomputes the exact diff.
			id := "d-" + shortHash(full)
			res.FullDiff = BlobURI(id)
			return res, records{blobs: []blob{{id: id, kind: "diff", data: []byte(full)}}}, nil
		})
}

func snapshotRestore(d Deps) Tool {
	return defineRecording(d, "snapshot_restore",
		"Put the working tree (or some paths) back to a snapshot: writes what differs, deletes files the snapshot lacks (never ignored ones), restores modes and symlinks. The state before is snapshotted and returned as undo: restoring undo reverts the restore.",
		annotations{title: "Restore a snapshot", destructive: true, idempotent: true},
		func(ctx context.Context, a snapshotRestoreArgs) (factory.RestoreResult, records, error) {
			if a.ID == "" {
				return factory.RestoreResult{}, records{}, factory.Errorf(factory.EINVALID, "id is required: a snapshot id from snapshot_list or a git revision such as HEAD")
			}
			target, err := d.Workspace.ResolveTree(ctx, a.ID)
			if err != nil {
				return factory.RestoreResult{}, records{}, err
			}
			res, err := d.Workspace.Restore(ctx, target.ID, a.Paths)
			return res, records{snapshotIDs: []string{res.Undo}}, err
		})
}

// resolvePair resolves the two ends of a diff, each a snapshot id or a git
// revision, to snapshot ids; to "" stays "" (the live tree).
func resolvePair(ctx context.Context, w *sandbox.Workspace, from, to string) (string, string, error) {
	a, err := w.ResolveTree(ctx, from)
	if err != nil {
		return "", "", factory.Wrap("from", err)
	}
	if to == "" {
		return a.ID, "", nil
	}
	b, err := w.ResolveTree(ctx, to)
	if err != nil {
		return "", "", factory.Wrap("to", err)
	}
	return a.ID, b.ID, nil
}

// checkText rejects over-long or control-character text arguments.
func checkText(field, s string, max int) error {
	if len(s) > max {
		return factory.Errorf(factory.EINVALID, "%s is %d bytes; keep it under %d", field, len(s), max)
	}
	for _, r := range s {
		if r < 0x20 && r != '\t' {
			return factory.Errorf(factory.EINVALID, "%s contains a control character (%U); use plain text", field, r)
		}
	}
	return nil
}
