package copies

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/go-git/go-git/v5/plumbing"
	"golang.org/x/sys/unix"
)

// cloneSupported: macOS has no overlayfs, but APFS clones a whole
// directory tree in one call, sharing the blocks until either side writes.
const cloneSupported = true

// cloneCopy makes the copy an APFS clone (clonefile) of the tree's cached
// materialisation: repeated copies of a tree cost one call each instead of
// writing every file. A tree not cached yet but close to one that is
// becomes a clone of that one with the difference written into it
// (cloneIncremental), unless opt.NoIncremental. The clone shares blocks,
// not the directory, so the cache may be evicted afterwards. On a file
// system without clones (HFS+, a network volume) or across volumes,
// clonefile fails and Make writes a plain copy.
func (m *Maker) cloneCopy(ctx context.Context, tree plumbing.Hash, top string, opt Options) (*Dir, error) {
	if !opt.NoIncremental {
		d, err := m.cloneIncremental(ctx, tree, top, cloneTree)
		if d != nil {
			return d, nil
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil, err
			}
			m.cfg.Logger.Debug("incremental clone copy failed; cloning the whole tree", "tree", tree, "err", err)
		}
	}
	lower, release, err := m.cachedTree(ctx, tree)
	if err != nil {
		return nil, err
	}
	defer release()
	dir := filepath.Join(top, "tree")
	if err := cloneTree(lower, dir); err != nil {
		return nil, fmt.Errorf("clonefile %s to %s: %w", lower, dir, err)
	}
	return &Dir{Path: dir, Kind: KindClone, cleanup: func() error { return removeAll(top) }}, nil
}

// cloneTree clones the directory tree src to dst, which must not exist.
func cloneTree(src, dst string) error { return unix.Clonefile(src, dst, unix.CLONE_NOFOLLOW) }
