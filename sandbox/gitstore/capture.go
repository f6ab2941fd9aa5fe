package gitstore

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/factory-dev/factory"
	"github.com/go-git/go-git/v5/plumbing"
)

// Overlay describes a directory made as an overlay mount, which Capture
// can read without walking all of it (CaptureOverlay).
type Overlay struct {
	Merged    string        // the mount point (the directory captured)
	Upper     string        // the overlay's upper dir: everything written since the mount
	LowerTree plumbing.Hash // the tree the read-only lower dir materialises
}

// Capture returns the tree `git add -A` would write for dir (the working
// tree when dir is the Store's root, or a copy laid out like it), storing
// its objects; no commit, no ref. For a copy, the index says which paths
// are tracked (so tracked files inside ignored folders are kept) but its
// stat data are not trusted; the copy keeps a stat cache of its own across
// calls (CaptureOverlay is the shortcut for an overlay copy). Errors:
// ECONFLICT when the tree changed during the walk.
func (s *Store) Capture(ctx context.Context, dir string) (plumbing.Hash, error) {
	s.capMu.Lock()
	defer s.capMu.Unlock()
	cfg := readCaptureConfig(s.cfg.GitDir)
	if cfg.needGit != "" {
		return s.gitCaptureTree(ctx, dir, cfg.needGit)
	}
	idx, err := readIndex(filepath.Join(s.cfg.GitDir, "index"), s.index)
	if errors.Is(err, errIndexUnsupported) {
		return s.gitCaptureTree(ctx, dir, err.Error())
	}
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("read index: %w", err)
	}
	s.index = idx
	live := dir == s.cfg.Root
	var statIdx *gitIndex
	if live {
		statIdx = idx
	}
	if s.caches == nil {
		s.caches = make(map[string]*statCache)
	}
	old := s.caches[dir]
	s.objects.refresh()
	res, err := s.captureWalk(ctx, dir, idx.entries, statIdx, old, globalRules(s.cfg.GitDir, cfg))
	if errors.Is(err, errNeedGit) {
		return s.gitCaptureTree(ctx, dir, err.Error())
	}
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return plumbing.ZeroHash, factory.Errorf(factory.ECONFLICT, "the tree changed while it was being captured (%v); try again", err)
		}
		return plumbing.ZeroHash, err
	}
	s.keepStatCache(dir, live, res.cache)
	return res.tree, nil
}

// keepStatCache remembers the stat cache of dir, keeping at most eight
// (the live tree's always among them).
func (s *Store) keepStatCache(dir string, live bool, c *statCache) {
	if !live && len(s.caches) >= 8 {
		for k := range s.caches {
			if k != s.cfg.Root {
				delete(s.caches, k)
				break
			}
		}
	}
	s.caches[dir] = c
}
