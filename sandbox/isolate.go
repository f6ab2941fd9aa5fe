package sandbox

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/factory-dev/factory"
	"github.com/factory-dev/factory/sandbox/gitstore"
	"github.com/go-git/go-git/v5/plumbing"
)

// Kinds of isolated copy, best first.
const (
	CopyOverlay = "overlay" // overlayfs over a cached, read-only materialisation of the tree
	CopyPlain   = "copy"    // the tree's files written into a fresh directory
)

// Copy is an isolated copy of the workspace at a snapshot: a directory
// holding the snapshot's whole tree (tracked and untracked-but-not-ignored
// files; ignored files such as build caches are not in it) where commands
// can run and write without touching the live tree. It has no .git.
type Copy struct {
	Dir      string           // the copy's top directory
	Snapshot factory.Snapshot // the snapshot it was made from
	Kind     string           // CopyOverlay or CopyPlain

	once     sync.Once
	closeErr error
	cleanup  func() error
}

// Close unmounts and removes the copy. It is safe to call more than once;
// the error is that of the first call.
func (c *Copy) Close() error {
	if c == nil {
		return nil
	}
	c.once.Do(func() {
		if c.cleanup != nil {
			c.closeErr = c.cleanup()
		}
	})
	return c.closeErr
}

// testNoOverlay, set by tests, forces plain copies.
var testNoOverlay bool

// treeCacheKeep is how many materialised trees the overlay cache keeps;
// older ones are evicted once they have not been used for treeCacheIdle.
const (
	treeCacheKeep = 3
	treeCacheIdle = 10 * time.Minute
)

// Isolate makes an isolated copy of snapshot snapshotID ("" snapshots the
// live tree first). As root, where overlay mounts work, the copy is an
// overlayfs whose lower layer is the tree materialised once and cached
// under the git dir (factory/trees/<tree>), so repeated copies of the same
// tree cost a mount. A tree not cached yet but close to one that is (at
// most a quarter of the files differ) is copied as an overlay over that
// one with the difference written through the mount, so its cost follows
// the size of the difference (isolate_incr.go); captures of such a copy
// (SnapshotDir) read only what was written in it (copysnap.go). Without
// overlays the tree is materialised into the copy.
// Copies live under Config.TempDir (os.TempDir() when empty). The caller
// must Close the copy.
//
// Errors: those of Resolve (or Snapshot) for the id; EINTERNAL when
// neither kind of copy could be made.
func (w *Workspace) Isolate(ctx context.Context, snapshotID string) (*Copy, error) {
	var snap factory.Snapshot
	var err error
	if snapshotID == "" {
		snap, err = w.Snapshot(ctx, "")
	} else {
		snap, err = w.Resolve(ctx, snapshotID)
	}
	if err != nil {
		return nil, factory.Wrap("isolate", err)
	}
	tree := plumbing.NewHash(snap.Tree)
	base := w.cfg.TempDir
	if base == "" {
		base = os.TempDir()
	}
	if err := os.MkdirAll(base, 0o755); err != nil {
		return nil, factory.Wrap("isolate: make temp dir", err)
	}
	top, err := os.MkdirTemp(base, "factory-copy-")
	if err != nil {
		return nil, factory.Wrap("isolate", err)
	}
	if overlaySupported() && !testNoOverlay {
		if c, err := w.overlayCopy(ctx, tree, top); err == nil {
			c.Snapshot = snap
			return c, nil
		} else if ctx.Err() != nil {
			os.RemoveAll(top)
			return nil, factory.Wrap("isolate", ctx.Err())
		} else {
			w.cfg.Logger.Debug("overlay copy failed; writing a plain copy", "err", err)
		}
	}
	dir := filepath.Join(top, "tree")
	if err := w.materializeTree(ctx, tree, dir); err != nil {
		os.RemoveAll(top)
		return nil, factory.Wrap("isolate", err)
	}
	return &Copy{Dir: dir, Snapshot: snap, Kind: CopyPlain, cleanup: func() error { return removeAll(top) }}, nil
}

// overlayCopy mounts an overlay under top over the cached tree; when that
// tree is not cached but a close one is, over the close one with the
// difference written through the mount (isolate_incr.go).
func (w *Workspace) overlayCopy(ctx context.Context, tree plumbing.Hash, top string) (*Copy, error) {
	cached := filepath.Join(gitstore.CommonDir(w.gitDir), "factory", "trees", tree.String())
	if st, err := os.Stat(cached); err != nil || !st.IsDir() {
		c, err := w.incrementalOverlay(ctx, tree, top)
		if c != nil {
			return c, nil
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil, err
			}
			w.cfg.Logger.Debug("incremental overlay copy failed; materialising the tree", "tree", tree, "err", err)
		}
	}
	lower, release, err := w.cachedTree(ctx, tree)
	if err != nil {
		return nil, err
	}
	return w.mountCopy(lower, tree, top, release)
}

// treeCacheUse counts, per cached lower dir, the overlays of this process
// mounted on it; eviction never removes one in use.
var treeCacheUse = struct {
	sync.Mutex
	n map[string]int
}{n: map[string]int{}}

// cachedTree returns the read-only materialisation of tree, making it
// (atomically: into a temp dir renamed into place) when missing. release
// must be called when the overlay on it is gone.
func (w *Workspace) cachedTree(ctx context.Context, tree plumbing.Hash) (dir string, release func(), err error) {
	cache := filepath.Join(gitstore.CommonDir(w.gitDir), "factory", "trees")
	dir = filepath.Join(cache, tree.String())
	treeCacheUse.Lock()
	treeCacheUse.n[dir]++
	treeCacheUse.Unlock()
	release = func() {
		treeCacheUse.Lock()
		if treeCacheUse.n[dir]--; treeCacheUse.n[dir] <= 0 {
			delete(treeCacheUse.n, dir)
		}
		treeCacheUse.Unlock()
	}
	now := time.Now()
	if st, err := os.Stat(dir); err == nil && st.IsDir() {
		_ = os.Chtimes(dir, now, now)
		return dir, release, nil
	}
	if err := os.MkdirAll(cache, 0o755); err != nil {
		release()
		return "", nil, err
	}
	tmp, err := os.MkdirTemp(cache, ".tmp-")
	if err != nil {
		release()
		return "", nil, err
	}
	if err := w.materializeTree(ctx, tree, tmp); err != nil {
		removeAll(tmp)
		release()
		return "", nil, err
	}
	if err := os.Rename(tmp, dir); err != nil {
		removeAll(tmp)
		if st, e := os.Stat(dir); e != nil || !st.IsDir() { // lost a race: fine if the other made it
			release()
			return "", nil, err
		}
	}
	_ = os.Chtimes(dir, now, now)
	w.evictTrees(cache)
	return dir, release, nil
}

// evictTrees removes cached trees beyond treeCacheKeep, oldest first, that
// no overlay of this process uses and that have been idle a while (another
// process may still have an overlay on a recently used one).
func (w *Workspace) evictTrees(cache string) {
	ents, err := os.ReadDir(cache)
	if err != nil {
		return
	}
	type ct struct {
		dir string
		t   time.Time
	}
	var all []ct
	for _, e := range ents {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		if info, err := e.Info(); err == nil {
			all = append(all, ct{filepath.Join(cache, e.Name()), info.ModTime()})
		}
	}
	sort.Slice(all, func(i, j int) bool { return all[i].t.After(all[j].t) })
	for i, c := range all {
		if i < treeCacheKeep || time.Since(c.t) < treeCacheIdle {
			continue
		}
		treeCacheUse.Lock()
		busy := treeCacheUse.n[c.dir] > 0
		treeCacheUse.Unlock()
		if !busy {
			_ = removeAll(c.dir)
		}
	}
}

// removeAll removes a tree, first making its directories writable so a
// copy whose tests made read-only directories still goes.
func removeAll(dir string) error {
	err := os.RemoveAll(dir)
	if err == nil || errors.Is(err, os.ErrNotExist) {
		return nil
	}
	_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			_ = os.Chmod(p, 0o755)
		}
		return nil
	})
	return os.RemoveAll(dir)
}
