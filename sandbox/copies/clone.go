package copies

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/go-git/go-git/v5/plumbing"
)

// cloneIncremental makes top/tree a clone (clone: APFS's clonefile on
// macOS) of the cached tree closest to tree, and writes the difference
// into it: as the incremental overlay does on Linux, a tree nobody
// materialised costs the size of its change, not a write of every file.
// It returns nil, nil when no cached tree is close enough, and an error
// (top left empty) when the clone or the writes failed.
func (m *Maker) cloneIncremental(ctx context.Context, tree plumbing.Hash, top string, clone func(src, dst string) error) (*Dir, error) {
	if st, err := os.Stat(filepath.Join(m.cache, tree.String())); err == nil && st.IsDir() {
		return nil, nil // cached: a whole clone of it is cheaper still
	}
	lower, base, changes, release, ok := m.incrementalBase(ctx, tree)
	if !ok {
		return nil, nil
	}
	dir := filepath.Join(top, "tree")
	err := clone(lower, dir)
	release() // a clone shares blocks, not the directory: the cache may go
	if err != nil {
		_ = removeAll(dir)
		return nil, fmt.Errorf("clone cached tree %s: %w", base, err)
	}
	if err := m.applyTreeChanges(ctx, dir, changes); err != nil {
		return nil, errors.Join(fmt.Errorf("write %d changes over a clone of cached tree %s: %w", len(changes), base, err), removeAll(dir))
	}
	m.cfg.Logger.Debug("incremental clone copy", "tree", tree, "base", base, "changes", len(changes))
	return &Dir{Path: dir, Kind: KindClone, cleanup: func() error { return removeAll(top) }}, nil
}
