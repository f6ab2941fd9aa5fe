package sandbox

import (
	"context"

	"github.com/factory-dev/factory"
)

// AcceptedSnapshots returns the snapshots whose trees the gate accepted
// (refs/factory/accepted/<tree>), newest first, at most n, one per tree:
// the history invariant_drift's last walks. The accepted refs, not the
// run log, are the record: they survive a deleted run log and name the
// exact snapshot the gate judged.
func (w *Workspace) AcceptedSnapshots(ctx context.Context, n int) ([]factory.Snapshot, error) {
	all, err := w.allSnapshots(ctx)
	if err != nil {
		return nil, factory.Wrap("accepted snapshots", err)
	}
	var out []factory.Snapshot
	seen := map[string]bool{}
	for _, s := range all {
		if len(out) >= n {
			break
		}
		if seen[s.Tree] {
			continue
		}
		if c, ok := w.Accepted(ctx, s.Tree); ok && c == s.Commit {
			seen[s.Tree] = true
			out = append(out, s)
		}
	}
	return out, nil
}
