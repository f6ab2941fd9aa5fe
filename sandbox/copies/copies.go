package copies

import (
	"context"
	"errors"
	"log/slog"
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

// Kinds of copy, best first.
const (
	KindOverlay = "overlay" // overlayfs over a cached, read-only materialisation of the tree
	KindClone   = "clone"   // an APFS clone (macOS clonefile) of a cached materialisation of the tree
	KindPlain   = "copy"    // the tree's files written into a fresh directory
)

// treeCacheKeep is how many materialised trees the overlay cache keeps;
// older ones are evicted once they have not been used for treeCacheIdle.
const (
	treeCacheKeep = 3
	treeCacheIdle = 10 * time.Minute
)

// Config configures a Maker.
type Config struct {
	// Store is the repository whose trees are copied. Required.
	Store *gitstore.Store
	// TempDir is where copies are made. Empty means os.TempDir().
	TempDir string
	// Logger receives diagnostics. Nil means slog.Default().
	Logger *slog.Logger
}

// Options choose how one copy is made. The zero value takes the best kind
// available.
type Options struct {
	NoOverlay     bool // write a plain copy even where overlays (or, on macOS, clones) work
	NoIncremental bool // never mount over a cached tree close to this one
}

// Maker makes copies of one repository's trees and owns the cache of
// materialised trees under <common git dir>/factory/trees.
type Maker struct {
	cfg   Config
	cache string

	mu  sync.Mutex
	use map[string]int // overlays of this Maker per cached lower dir
}

// New returns a Maker for cfg.Store's trees.
func New(cfg Config) *Maker {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Maker{cfg: cfg, cache: filepath.Join(cfg.Store.Common(), "factory", "trees"), use: map[string]int{}}
}

// Dir is a disposable directory holding one tree (tracked and
// untracked-but-not-ignored files of a snapshot; no .git) where commands
// can run and write.
type Dir struct {
	Path    string            // the copy's top directory
	Kind    string            // KindOverlay, KindClone or KindPlain
	Overlay *gitstore.Overlay // for an overlay copy, what gitstore.CaptureOverlay reads

	once     sync.Once
	closeErr error
	cleanup  func() error
}

// Close unmounts and removes the copy. It is safe to call more than once;
// the error is that of the first call.
func (d *Dir) Close() error {
	if d == nil {
		return nil
	}
	d.once.Do(func() {
		if d.cleanup != nil {
			d.closeErr = d.cleanup()
		}
	})
	return d.closeErr
}

// Make copies tree into a fresh directory under Config.TempDir. As root,
// where overlay mounts work, the copy is an overlayfs whose lower layer is
// the tree materialised once and cached, so repeated copies of the same
// tree cost a mount. A tree not cached yet but close to one that is (at
// most a quarter of the files differ) is copied as an overlay over that
// one with the difference written through the mount, so its cost follows
// the size of the difference (incremental.go). Without overlays the tree
// is materialised into the copy; on macOS it is first tried as an APFS
// clone of the cached materialisation (clone_darwin.go). The caller must
// Close the copy.
func (m *Maker) Make(ctx context.Context, tree plumbing.Hash, opt Options) (*Dir, error) {
	base := m.cfg.TempDir
	if base == "" {
		base = os.TempDir()
	}
	if err := os.MkdirAll(base, 0o755); err != nil {
		return nil, factory.Wrap("make temp dir", err)
	}
	top, err := os.MkdirTemp(base, "factory-copy-")
	if err != nil {
		return nil, err
	}
	for _, fast := range m.fastCopies(tree, top, opt) {
		d, err := fast(ctx)
		if err == nil {
			return d, nil
		}
		if ctx.Err() != nil {
			os.RemoveAll(top)
			return nil, ctx.Err()
		}
		m.cfg.Logger.Debug("fast copy failed; writing a plain copy", "err", err)
	}
	dir := filepath.Join(top, "tree")
	if err := m.Materialize(ctx, tree, dir); err != nil {
		os.RemoveAll(top)
		return nil, err
	}
	return &Dir{Path: dir, Kind: KindPlain, cleanup: func() error { return removeAll(top) }}, nil
}

// fastCopies are the ways to copy tree into top this platform has that
// cost less than writing it out, best first: an overlay mount (Linux, as
// root), an APFS clone (macOS). Options.NoOverlay asks for none of them.
func (m *Maker) fastCopies(tree plumbing.Hash, top string, opt Options) []func(context.Context) (*Dir, error) {
	var out []func(context.Context) (*Dir, error)
	if opt.NoOverlay {
		return nil
	}
	if OverlaySupported() {
		out = append(out, func(ctx context.Context) (*Dir, error) { return m.overlayCopy(ctx, tree, top, opt) })
	}
	if cloneSupported {
		out = append(out, func(ctx context.Context) (*Dir, error) { return m.cloneCopy(ctx, tree, top, opt) })
	}
	return out
}

// overlayCopy mounts an overlay under top over the cached tree; when that
// tree is not cached but a close one is, over the close one with the
// difference written through the mount (incremental.go).
func (m *Maker) overlayCopy(ctx context.Context, tree plumbing.Hash, top string, opt Options) (*Dir, error) {
	cached := filepath.Join(m.cache, tree.String())
	if st, err := os.Stat(cached); (err != nil || !st.IsDir()) && !opt.NoIncremental {
		c, err := m.incrementalOverlay(ctx, tree, top)
		if c != nil {
			return c, nil
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil, err
			}
			m.cfg.Logger.Debug("incremental overlay copy failed; materialising the tree", "tree", tree, "err", err)
		}
	}
	lower, release, err := m.cachedTree(ctx, tree)
	if err != nil {
		return nil, err
	}
	return m.mountCopy(lower, tree, top, release)
}

// cachedTree returns the read-only materialisation of tree, making it
// (atomically: into a temp dir renamed into place) when missing. release
// must be called when the overlay on it is gone.
func (m *Maker) cachedTree(ctx context.Context, tree plumbing.Hash) (dir string, release func(), err error) {
	cache := m.cache
	dir = filepath.Join(cache, tree.String())
	release = m.hold(dir)
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
	if err := m.Materialize(ctx, tree, tmp); err != nil {
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
	m.evictTrees(cache)
	return dir, release, nil
}

// evictTrees removes cached trees beyond treeCacheKeep, oldest first, that
// no overlay of this Maker uses and that have been idle a while (another
// process may still have an overlay on a recently used one).
func (m *Maker) evictTrees(cache string) {
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
		m.mu.Lock()
		busy := m.use[c.dir] > 0
		m.mu.Unlock()
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
