package investigate

import (
	"context"

	"github.com/factory-dev/factory"
)

// Resolver finds the trees an investigation compares. *sandbox.Workspace
// is one.
type Resolver interface {
	// Snapshot captures the live tree.
	Snapshot(ctx context.Context, label string) (factory.Snapshot, error)
	// ResolveTree finds a snapshot by id, or snapshots a git revision's
	// tree (HEAD~1, a branch, a tag, a hash) without touching the index.
	ResolveTree(ctx context.Context, name string) (factory.Snapshot, error)
}

// resolveTree turns what the agent named into a snapshot: "" or "live"
// the live tree, anything else a snapshot id or a git revision.
func resolveTree(ctx context.Context, r Resolver, name, role string) (factory.Snapshot, error) {
	if name == "" || name == "live" {
		return r.Snapshot(ctx, role+" (live tree)")
	}
	return r.ResolveTree(ctx, name)
}
