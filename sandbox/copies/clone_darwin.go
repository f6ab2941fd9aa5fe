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
// writing every file. The clone shares blocks, not the directory, so the
// cache may be evicted afterwards. On a file system without clones (HFS+,
// a network volume) or across volumes, clonefile fails and Make writes a
// plain copy.
func (m *Maker) cloneCopy(ctx context.Context, tree plumbing.Hash, top string) (*Dir, error) {
	lower, release, err := m.cachedTree(ctx, tree)
	if err != nil {
		return nil, err
	}
	defer release()
	dir := filepath.Join(top, "tree")
	if err := unix.Clonefile(lower, dir, unix.CLONE_NOFOLLOW); err != nil {
		return nil, fmt.Errorf("clonefile %s to %s: %w", lower, dir, err)
	}
	return &Dir{Path: dir, Kind: KindClone, cleanup: func() error { return removeAll(top) }}, nil
}
