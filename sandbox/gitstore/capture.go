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
// calls (CaptureOverlay is the shortcut for an overlay copy). For the live
// tree with a Config.Watcher that vouches for what was touched since the
// previous capture, only those paths are re-read (incremental.go).
// Errors: ECONFLICT when the tree changed during the walk.
func (s *Store) Capture(ctx context.Context, dir string) (plumbing.Hash, error) {
	s.capMu.Lock()
	defer s.capMu.Unlock()
	live := dir == s.cfg.Root
	var touched []string
	vouched := false
	if live && s.cfg.Watcher != nil {
		// Before anything is read: an edit from now on is the next
		// capture's to see.
		touched, vouched = s.cfg.Watcher.Begin()
	}
	tree, base, err := s.captureLocked(ctx, dir, live, touched, vouched)
	if live {
		if base == nil {
			s.last = CaptureInfo{}
		}
		s.live = base // nil unless a native walk completed
		if base == nil && s.cfg.Watcher != nil {
			s.cfg.Watcher.Abort()
		}
	}
	return tree, err
}

// captureLocked is Capture under capMu. base is what the next incremental
// capture of the live tree may build on (nil: nothing).
func (s *Store) captureLocked(ctx context.Context, dir string, live bool, touched []string, vouched bool) (plumbing.Hash, *liveBase, error) {
	cfg := readCaptureConfig(s.cfg.GitDir)
	if cfg.needGit != "" {
		h, err := s.gitCaptureTree(ctx, dir, cfg.needGit)
		return h, nil, err
	}
	idx, err := readIndex(filepath.Join(s.cfg.GitDir, "index"), s.index)
	if errors.Is(err, errIndexUnsupported) {
		h, err := s.gitCaptureTree(ctx, dir, err.Error())
		return h, nil, err
	}
	if err != nil {
		return plumbing.ZeroHash, nil, fmt.Errorf("read index: %w", err)
	}
	s.index = idx
	var statIdx *gitIndex
	if live {
		statIdx = idx
	}
	if s.caches == nil {
		s.caches = make(map[string]*statCache)
	}
	old := s.caches[dir]
	s.refreshObjects()
	rules := globalRules(s.cfg.GitDir, cfg)
	rulesKey := rules.GlobalKey()
	var o walkOpts
	if live {
		o.watch = s.cfg.Watcher
		if b := s.usableBase(idx, rulesKey); vouched && b != nil {
			o.plan, o.prev = planFor(touched, b), b.tree
			if len(o.plan.dirty) == 0 {
				s.last = CaptureInfo{Incremental: true}
				return b.tree, b, nil // nothing touched: nothing to read
			}
		}
	}
	res, err := s.captureWalk(ctx, dir, idx.entries, statIdx, old, rules, o)
	if errors.Is(err, errNeedGit) {
		h, err := s.gitCaptureTree(ctx, dir, err.Error())
		return h, nil, err
	}
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return plumbing.ZeroHash, nil, factory.Errorf(factory.ECONFLICT, "the tree changed while it was being captured (%v); try again", err)
		}
		return plumbing.ZeroHash, nil, err
	}
	cache := res.cache
	if o.plan != nil {
		cache = mergeCache(old, o.plan, res.cache.entries)
	}
	s.keepStatCache(dir, live, cache)
	if live {
		s.last = CaptureInfo{Incremental: o.plan != nil, Listed: res.listed, Hashed: res.hashed}
	}
	return res.tree, &liveBase{tree: res.tree, index: idx, rulesKey: rulesKey, gitlinks: res.gitlinks}, nil
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

// CaptureInfo says what the last capture of the live tree read.
type CaptureInfo struct {
	Incremental bool // it built on the previous capture (a watcher vouched)
	Listed      int  // directories listed
	Hashed      int  // files hashed
}

// LastCapture says what the last capture of the live tree read (zero
// after one that failed or that git did).
func (s *Store) LastCapture() CaptureInfo {
	s.capMu.Lock()
	defer s.capMu.Unlock()
	return s.last
}
