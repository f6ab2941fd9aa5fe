package gitstore

import (
	"path"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
)

// This file is the incremental capture of the live tree: when a file
// watcher vouches that only some paths were touched since the previous
// capture, the walk starts from that capture's tree and re-lists only the
// directories on the way to a touched path, re-hashing the touched files
// whatever their stat data say and reusing every other subtree's id as it
// was. Anything that could change the tree without touching a path of it
// (the index, the global ignore rules, a nested repository's HEAD) either
// forces a full walk or is re-read every time.

// Watcher is what the capture of the live tree asks of a file watcher
// (sandbox/watch provides one).
type Watcher interface {
	// Begin is called at the start of each capture of the live tree,
	// before anything is read. It returns the paths (slash-separated,
	// relative to the root) touched since the previous Begin, and whether
	// it vouches that nothing else changed.
	Begin() (touched []string, ok bool)
	// Watch arms the watch on directory rel ("" or "a/b/") before the
	// walk lists it.
	Watch(rel string)
	// Abort says the capture begun last did not complete.
	Abort()
}

// liveBase is what the previous capture of the live tree leaves for the
// next one to build on.
type liveBase struct {
	tree     plumbing.Hash
	index    *gitIndex // the index it read (a new one means a full walk)
	rulesKey string    // the global ignore rules it applied
	gitlinks []string  // directories ("" or "a/b/") holding a gitlink
}

// plan says which parts of the tree an incremental walk re-reads.
type plan struct {
	touched map[string]bool // paths re-read whatever their stat data; a directory among them is walked whole
	dirty   map[string]bool // directories ("" or "a/b/") to re-list
	deep    map[string]bool // directories whose rules changed: walked whole
}

// planFor turns touched paths into a plan on top of base.
func planFor(touched []string, base *liveBase) *plan {
	p := &plan{touched: map[string]bool{}, dirty: map[string]bool{}, deep: map[string]bool{}}
	for _, t := range touched {
		p.touched[t] = true
		dir, name := parentOf(t)
		if name == ".gitignore" || name == ".gitattributes" {
			p.deep[dir] = true
		}
		p.markDirty(dir)
	}
	for _, d := range base.gitlinks {
		p.markDirty(d) // a nested repository's HEAD moves without an event here
	}
	return p
}

// markDirty marks dir and its ancestors to be re-listed.
func (p *plan) markDirty(dir string) {
	for !p.dirty[dir] {
		p.dirty[dir] = true
		if dir == "" {
			return
		}
		dir, _ = parentOf(strings.TrimSuffix(dir, "/"))
	}
}

// parentOf splits a path into its directory ("" or "a/b/") and name.
func parentOf(p string) (dir, name string) {
	d, name := path.Split(p)
	return d, name
}

// incState is how one directory is walked.
type incState struct {
	full bool          // walked whole (no plan, or rules or kind changed)
	prev plumbing.Hash // its tree in the previous capture (incremental only)
}

// subState decides how the walk treats subdirectory name of rel: walked
// (with its state) or reused from the previous capture (reuse set, h its
// id, zero when it held nothing).
func (wk *walker) subState(in incState, rel, name string) (st incState, reuse bool, h plumbing.Hash, err error) {
	if wk.plan == nil || in.full {
		return incState{full: true}, false, plumbing.ZeroHash, nil
	}
	sub := rel + name + "/"
	if wk.plan.touched[rel+name] || wk.plan.deep[sub] {
		return incState{full: true}, false, plumbing.ZeroHash, nil
	}
	prev, err := wk.prevEntry(in.prev, name)
	if err != nil {
		return incState{}, false, plumbing.ZeroHash, err
	}
	if !wk.plan.dirty[sub] {
		return incState{}, true, prev, nil
	}
	return incState{prev: prev}, false, plumbing.ZeroHash, nil
}

// prevEntry is the id of subtree name in tree prev, zero when it had none.
func (wk *walker) prevEntry(prev plumbing.Hash, name string) (plumbing.Hash, error) {
	es, err := wk.trees(prev)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	for _, e := range es {
		if e.Name == name && e.Mode == modeTree {
			return e.Hash, nil
		}
	}
	return plumbing.ZeroHash, nil
}

// prevFiles returns, for a directory re-listed by an incremental walk, the
// files and symlinks its previous tree held, by name; nil when the
// directory is walked whole.
func (wk *walker) prevFiles(in incState) (map[string]Entry, error) {
	if wk.plan == nil || in.full {
		return nil, nil
	}
	es, err := wk.trees(in.prev)
	if err != nil {
		return nil, err
	}
	m := make(map[string]Entry, len(es))
	for _, e := range es {
		if e.Mode != modeTree && e.Mode != 0o160000 {
			m[e.Name] = e
		}
	}
	return m, nil
}

// forced reports whether file full must be re-hashed whatever its stat
// data say: the watcher saw it written.
func (wk *walker) forced(full string) bool {
	return wk.plan != nil && wk.plan.touched[full]
}

// usableBase returns the previous capture of the live tree when an
// incremental capture may build on it: same index, same global rules, its
// tree still in the object store.
func (s *Store) usableBase(idx *gitIndex, rulesKey string) *liveBase {
	b := s.live
	sameIndex := b != nil && (b.index == idx || b.index.absent && idx.absent)
	if !sameIndex || b.rulesKey != rulesKey || !s.objects.isKnown(b.tree) && !s.HasObject(b.tree) {
		return nil
	}
	return b
}

// mergeCache folds the files an incremental walk hashed into the stat
// cache it started from, dropping the touched paths first (their old
// entries describe content that may be gone).
func mergeCache(old *statCache, p *plan, fresh map[string]cachedFile) *statCache {
	if old == nil {
		return &statCache{entries: fresh}
	}
	for t := range p.touched {
		delete(old.entries, t)
	}
	for k, v := range fresh {
		old.entries[k] = v
	}
	return old
}
