package copies

// Incremental overlay copies. Every proposal and every test run of an agent
// that keeps editing isolates a tree nobody materialised yet, and writing
// 20,000 files to make a cached lower dir costs seconds. When another tree
// of the same workspace is cached, the overlay is mounted over it instead
// and the difference between the two trees is written through the merged
// mount (overlayfs records deletions as whiteouts in the upper dir), so the
// cost follows the size of the change, not of the tree.

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/factory-dev/factory"
	"github.com/factory-dev/factory/sandbox/gitstore"
	"github.com/factory-dev/factory/sandbox/gitstore/gitdir"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
)

// Limits of the incremental path: the difference must touch at most
// 1/incrMaxShare of the cached tree's files (and at least incrMinLimit
// files are always allowed); at most incrCandidates cached trees are
// compared.
const (
	incrMaxShare   = 4
	incrMinLimit   = 64
	incrCandidates = 3
)

// incrementalBase picks the cached tree closest to tree among the most
// recently used ones, and returns its directory (held: call release), its
// tree, and the changes from it to tree. ok is false when no cached tree is
// close enough.
func (m *Maker) incrementalBase(ctx context.Context, tree plumbing.Hash) (dir string, base plumbing.Hash, changes []gitstore.Change, release func(), ok bool) {
	cache := m.cache
	ents, err := os.ReadDir(cache)
	if err != nil {
		return "", plumbing.ZeroHash, nil, nil, false
	}
	type cand struct {
		h plumbing.Hash
		t time.Time
	}
	var cands []cand
	for _, e := range ents {
		h, okh := gitdir.ParseHex(e.Name())
		if !e.IsDir() || !okh || h.String() != e.Name() || h == tree {
			continue
		}
		if info, err := e.Info(); err == nil {
			cands = append(cands, cand{h, info.ModTime()})
		}
	}
	sort.Slice(cands, func(i, j int) bool { return cands[i].t.After(cands[j].t) })
	if len(cands) > incrCandidates {
		cands = cands[:incrCandidates]
	}
	best := -1
	var bestChanges []gitstore.Change
	for i, c := range cands {
		n, err := m.cfg.Store.CountFiles(ctx, c.h)
		if err != nil {
			continue
		}
		limit := max(n/incrMaxShare, incrMinLimit)
		if best >= 0 && len(bestChanges) < limit {
			limit = len(bestChanges)
		}
		ch, err := m.cfg.Store.DiffTrees(ctx, c.h, tree, limit)
		if err != nil {
			continue
		}
		if best < 0 || len(ch) < len(bestChanges) {
			best, bestChanges = i, ch
		}
		if len(ch) == 0 {
			break
		}
	}
	if best < 0 {
		return "", plumbing.ZeroHash, nil, nil, false
	}
	base = cands[best].h
	dir = filepath.Join(cache, base.String())
	release = m.hold(dir)
	// Held now, so this process will not evict it; make sure nobody else
	// did meanwhile, and mark it used.
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		release()
		return "", plumbing.ZeroHash, nil, nil, false
	}
	now := time.Now()
	_ = os.Chtimes(dir, now, now)
	return dir, base, bestChanges, release, true
}

// hold counts one more overlay on the cached dir, so eviction spares it;
// the returned func undoes it.
func (m *Maker) hold(dir string) func() {
	m.mu.Lock()
	m.use[dir]++
	m.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			m.mu.Lock()
			if m.use[dir]--; m.use[dir] <= 0 {
				delete(m.use, dir)
			}
			m.mu.Unlock()
		})
	}
}

// applyTreeChanges turns the directory dir, holding the materialisation of
// one tree, into that of another, given the changes between them:
// removals first (files, then the directories they leave empty), then
// writes (parents made, a directory in the way of a file removed).
// Everything goes through os.Root on dir.
func (m *Maker) applyTreeChanges(ctx context.Context, dir string, changes []gitstore.Change) error {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return err
	}
	defer root.Close()
	isSub := func(e *gitstore.Entry) bool { return e != nil && e.Mode == filemode.Submodule }
	emptied := map[string]bool{}
	for _, c := range changes {
		if !validTreePath(c.Path) {
			return fmt.Errorf("unsafe path %q in a tree", c.Path)
		}
		if c.From == nil || (isSub(c.From) && isSub(c.To)) {
			continue
		}
		if err := root.Remove(c.Path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("remove %s: %w", c.Path, err)
		}
		if c.To == nil {
			for d := path.Dir(c.Path); d != "."; d = path.Dir(d) {
				emptied[d] = true
			}
		}
	}
	dirs := make([]string, 0, len(emptied))
	for d := range emptied {
		dirs = append(dirs, d)
	}
	// Deeper first: a child's path is longer than its parent's.
	sort.Slice(dirs, func(i, j int) bool { return len(dirs[i]) > len(dirs[j]) })
	for _, d := range dirs {
		_ = root.Remove(d) // fails, as it should, on a directory still holding something
	}
	byHash := map[plumbing.Hash][]flatEntry{}
	for _, c := range changes {
		if c.To == nil || (isSub(c.From) && isSub(c.To)) {
			continue
		}
		if d := path.Dir(c.Path); d != "." {
			if err := root.MkdirAll(d, 0o755); err != nil {
				return fmt.Errorf("make directory %s: %w", d, err)
			}
		}
		if fi, err := root.Lstat(c.Path); err == nil && fi.IsDir() {
			if err := root.RemoveAll(c.Path); err != nil {
				return fmt.Errorf("remove %s: %w", c.Path, err)
			}
		}
		if isSub(c.To) {
			if err := root.Mkdir(c.Path, 0o755); err != nil {
				return fmt.Errorf("make directory %s: %w", c.Path, err)
			}
			continue
		}
		byHash[c.To.Hash] = append(byHash[c.To.Hash], flatEntry{c.Path, *c.To})
	}
	hashes := make([]plumbing.Hash, 0, len(byHash))
	for h := range byHash {
		hashes = append(hashes, h)
	}
	return m.cfg.Store.ReadBlobs(ctx, hashes, func(h plumbing.Hash, b []byte) error {
		for _, e := range byHash[h] {
			if err := writeEntry(root, e, b); err != nil {
				return err
			}
		}
		return nil
	})
}

// incrementalOverlay mounts an overlay under top over the cached tree
// closest to tree and writes the difference through it. It returns nil,
// nil when no cached tree is close enough, and an error (having undone its
// work in top) when the mount or the writes failed.
func (m *Maker) incrementalOverlay(ctx context.Context, tree plumbing.Hash, top string) (*Dir, error) {
	lower, base, changes, release, ok := m.incrementalBase(ctx, tree)
	if !ok {
		return nil, nil
	}
	c, err := m.mountCopy(lower, base, top, release)
	if err != nil {
		return nil, err
	}
	if err := m.applyTreeChanges(ctx, c.Path, changes); err != nil {
		cerr := c.Close()
		if cerr == nil {
			// Close removed top; the caller goes on in it.
			cerr = os.MkdirAll(top, 0o755)
		}
		return nil, errors.Join(fmt.Errorf("write %d changes over cached tree %s: %w", len(changes), base, err), cerr)
	}
	m.cfg.Logger.Debug("incremental overlay copy", "tree", tree, "base", base, "changes", len(changes))
	return c, nil
}

// mountCopy mounts an overlay under top (dirs upper, work, tree) whose
// lower dir is lower, the materialisation of tree lowerTree, and registers
// what the fast capture needs. release is called once the overlay is gone (or
// at once when the mount fails).
func (m *Maker) mountCopy(lower string, lowerTree plumbing.Hash, top string, release func()) (*Dir, error) {
	upper, work, merged := filepath.Join(top, "upper"), filepath.Join(top, "work"), filepath.Join(top, "tree")
	for _, d := range []string{upper, work, merged} {
		if err := os.Mkdir(d, 0o755); err != nil {
			release()
			for _, d := range []string{upper, work, merged} {
				os.Remove(d)
			}
			return nil, err
		}
	}
	if err := mountOverlay(lower, upper, work, merged); err != nil {
		release()
		for _, d := range []string{upper, work, merged} {
			os.Remove(d)
		}
		return nil, err
	}
	ov := &gitstore.Overlay{Merged: merged, Upper: upper, LowerTree: lowerTree}
	return &Dir{Path: merged, Kind: KindOverlay, Overlay: ov, cleanup: func() error {
		err := unmountOverlay(merged)
		release()
		if err != nil {
			return factory.Wrap("close copy: unmount "+merged, err)
		}
		return removeAll(top)
	}}, nil
}
