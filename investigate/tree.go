package investigate

import (
	"context"
	"strings"

	"github.com/factory-dev/factory"
)

// Trees finds the trees an investigation compares. *sandbox.Workspace is
// one.
type Trees interface {
	// Snapshot captures the live tree.
	Snapshot(ctx context.Context, label string) (factory.Snapshot, error)
	// Resolve finds a snapshot by id.
	Resolve(ctx context.Context, id string) (factory.Snapshot, error)
	// SnapshotRevision snapshots a committed revision's tree.
	SnapshotRevision(ctx context.Context, rev, label string) (factory.Snapshot, error)
}

// resolveTree turns what the agent named into a snapshot: "" or "live"
// the live tree, an s-xxxx id a snapshot, anything else a git revision
// (HEAD, a branch, a tag, refs/..., a full commit id). (The sandbox's
// general ResolveTree replaces this at the merge.)
func resolveTree(ctx context.Context, t Trees, name, role string) (factory.Snapshot, error) {
	switch {
	case name == "" || name == "live":
		return t.Snapshot(ctx, role+" (live tree)")
	case strings.HasPrefix(name, "s-"):
		return t.Resolve(ctx, name)
	default:
		return t.SnapshotRevision(ctx, name, role+" "+name)
	}
}
