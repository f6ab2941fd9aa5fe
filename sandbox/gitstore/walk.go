package gitstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/factory-dev/factory"
	"github.com/factory-dev/factory/sandbox/gitstore/gitdir"
	"github.com/factory-dev/factory/sandbox/gitstore/gitignore"
	"github.com/factory-dev/factory/sandbox/gitstore/packs"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
)

// This file is the capture walk: it lists a directory tree the way
// `git add -A` sees it and builds the git tree objects for it, hashing only
// files whose stat data differ from the index (or from the engine's own
// stat cache).
//
// Rules, as git 2.39 applies them:
//   - A path in the index (tracked) is taken as it is on disk whatever the
//     ignore rules say; if it is gone, or became a directory, it is dropped.
//   - An untracked file is taken unless ignored. An ignored directory is
//     not searched for untracked files, but tracked files inside it are
//     still taken.
//   - A directory named ".git" is never taken. An untracked directory that
//     holds a git repository becomes a gitlink to that repository's HEAD
//     (skipped when it has no commit: git refuses to add it). A gitlink in
//     the index follows its repository's HEAD, or keeps its recorded
//     commit when the submodule is not checked out.
//   - Empty directories are not recorded.

// errNeedGit says the tree needs a git feature the native walk does not
// implement (content filters, line-ending conversion, odd core settings);
// the capture then asks git itself.
var errNeedGit = errors.New("needs git's own add")

// statCache remembers the blob ids of files the engine hashed itself, by
// path, with their stat data: the equivalent of git's index for files the
// index does not describe (untracked files, edited files, isolated copies).
type statCache struct {
	entries map[string]cachedFile
}

type cachedFile struct {
	st   statInfo
	hash plumbing.Hash
}

// racyMargin is how much older than the start of a walk a file's mtime must
// be for its hash to be remembered: filesystem timestamps come from a coarse
// clock, so a write just after the walk began could carry an earlier mtime.
const racyMargin = 100 * time.Millisecond

// walker captures one directory tree.
type walker struct {
	ctx   context.Context
	root  string       // absolute path of the directory captured
	idx   []indexEntry // the tracked paths, sorted
	index *gitIndex    // non-nil when the index's stat data describe root
	old   *statCache   // previous captures of root (may be nil)
	stamp int64        // files with mtime before this may enter the cache
	store *objectStore
	exist func(plumbing.Hash) bool // asks the object database (packs included)
	batch *packs.Batch             // new objects wait here for one pack (nil: written loose)
	head  func(dir string) (plumbing.Hash, bool, bool)
	attrs func(content []byte) bool // reports whether .gitattributes content needs git

	sem chan struct{} // tokens for walking sibling directories in parallel

	watch Watcher                              // armed on each directory before it is listed (may be nil)
	plan  *plan                                // what an incremental walk re-reads (nil: everything)
	trees func(plumbing.Hash) ([]Entry, error) // reads the previous capture's trees
	keep  func(plumbing.Hash, []Entry)         // remembers a tree written, decoded

	mu       sync.Mutex
	cache    map[string]cachedFile
	hashed   int                    // files hashed (for tests and benchmarks)
	listed   int                    // directories listed
	gitlinks []string               // directories holding a gitlink
	trusted  map[string]trustedTree // trees taken from the index's TREE extension, by directory
}

// trustedTree is a tree the walk built that the index's TREE extension
// names for its directory, kept until verifyTrusted.
type trustedTree struct {
	h    plumbing.Hash
	body []byte
}

// walkResult is what a capture walk produced.
type walkResult struct {
	tree     plumbing.Hash
	cache    *statCache
	hashed   int
	listed   int
	gitlinks []string
}

// walkOpts are the optional parts of a capture walk: the watcher to arm,
// and for an incremental walk its plan and the previous tree.
type walkOpts struct {
	watch Watcher
	plan  *plan
	prev  plumbing.Hash
}

// captureWalk builds and stores the tree of root. idx lists the tracked
// paths; index, when non-nil, also vouches for their stat data.
func (s *Store) captureWalk(ctx context.Context, root string, idx []indexEntry, index *gitIndex, old *statCache, rules *gitignore.Rules, o walkOpts) (walkResult, error) {
	wk := &walker{
		ctx:   ctx,
		root:  root,
		idx:   idx,
		index: index,
		old:   old,
		stamp: time.Now().Add(-racyMargin).UnixNano(),
		store: s.objects,
		exist: s.hasObjectLoaded,
		keep:  s.keepTree,
		head:  gitdir.NestedHead,
		attrs: attributesNeedGit,
		sem:   make(chan struct{}, max(runtime.GOMAXPROCS(0)-1, 0)),
		cache: make(map[string]cachedFile),
		watch: o.watch,
		plan:  o.plan,
		trees: s.ReadTree,
		batch: &packs.Batch{},
	}
	in := incState{full: o.plan == nil || o.plan.deep[""], prev: o.prev}
	h, _, err := wk.dir(topDir, root, rules, "", 0, len(idx), false, in)
	if err == nil && h.IsZero() {
		h, err = wk.putTree(nil)
	}
	if err == nil {
		err = wk.verifyTrusted()
	}
	// Written even when the walk failed: the objects are whole and
	// correct, and some written loose (past the batch's bound, or big
	// blobs) may already name them.
	packed, ferr := s.objects.flush(wk.batch)
	if packed {
		s.afterPack()
	}
	if err == nil {
		err = ferr
	}
	if err != nil {
		return walkResult{}, err
	}
	return walkResult{tree: h, cache: &statCache{entries: wk.cache}, hashed: wk.hashed, listed: wk.listed, gitlinks: wk.gitlinks}, nil
}

// idxChild is what the index says about one name inside a directory.
type idxChild struct {
	file     int // index of the entry for this exact path, -1 if none
	lo, hi   int // range of entries below this path (a tracked directory)
	conflict bool
}

// children groups the index entries [lo,hi) under directory rel by the
// next path element.
func (wk *walker) children(rel string, lo, hi int) map[string]*idxChild {
	m := make(map[string]*idxChild)
	for i := lo; i < hi; {
		rest := wk.idx[i].path[len(rel):]
		if j := strings.IndexByte(rest, '/'); j >= 0 {
			name := rest[:j]
			prefix := rel + name + "/"
			k := i + 1
			for k < hi && strings.HasPrefix(wk.idx[k].path, prefix) {
				k++
			}
			c := m[name]
			if c == nil {
				c = &idxChild{file: -1}
				m[name] = c
			}
			c.lo, c.hi = i, k
			i = k
			continue
		}
		c := m[rest]
		if c == nil {
			c = &idxChild{file: -1}
			m[rest] = c
		}
		if c.file >= 0 || wk.idx[i].stage != 0 {
			c.conflict = true
		}
		if c.file < 0 {
			c.file = i
		}
		i++
	}
	return m
}

// dir captures directory rel ("" or "a/b/"), named name inside the
// directory open as parent (the top: topDir and wk.root), and
// returns its tree id, or a zero id when nothing in it is taken. in says
// whether it is walked whole or re-read incrementally.
func (wk *walker) dir(parent dirHandle, name string, rules *gitignore.Rules, rel string, lo, hi int, ignored bool, in incState) (plumbing.Hash, bool, error) {
	if err := wk.ctx.Err(); err != nil {
		return plumbing.ZeroHash, false, err
	}
	if wk.watch != nil {
		wk.watch.Watch(rel) // armed before the listing: no edit slips between
	}
	dirfd, des, err := openDir(parent, name)
	if err != nil {
		return plumbing.ZeroHash, false, wk.openError(err, rel, lo, hi)
	}
	wk.mu.Lock()
	wk.listed++
	wk.mu.Unlock()
	// Kept open until the subdirectories are done: they are opened, and
	// files are lstat'ed, relative to it.
	defer closeDir(dirfd)
	if rules, err = wk.ownRules(dirfd, des, rules, rel, ignored); err != nil {
		return plumbing.ZeroHash, false, err
	}
	prev, err := wk.prevFiles(in)
	if err != nil {
		return plumbing.ZeroHash, false, err
	}
	entries, subs, err := wk.list(dirfd, des, rules, rel, lo, hi, ignored, prev)
	if err != nil {
		return plumbing.ZeroHash, false, err
	}
	if len(subs) > 0 {
		if entries, err = wk.subdirs(dirfd, entries, subs, rules, rel, in); err != nil {
			return plumbing.ZeroHash, false, err
		}
	}
	if len(entries) == 0 {
		return plumbing.ZeroHash, false, nil
	}
	sortTreeEntries(entries)
	h, err := wk.putDirTree(rel, entries)
	return h, true, err
}

// putDirTree is putTree for the directory rel: a tree the index's TREE
// extension names for rel is stored already (git wrote it), so it is set
// aside for verifyTrusted instead of looked up.
func (wk *walker) putDirTree(rel string, es []Entry) (plumbing.Hash, error) {
	b := encodeTree(es)
	h := hashObject(plumbing.TreeObject, b)
	if wk.index != nil && wk.index.trees[rel] == h {
		wk.mu.Lock()
		if wk.trusted == nil {
			wk.trusted = map[string]trustedTree{}
		}
		wk.trusted[rel] = trustedTree{h: h, body: b}
		wk.mu.Unlock()
	} else if err := wk.putHashed(h, plumbing.TreeObject, b); err != nil {
		return plumbing.ZeroHash, err
	}
	if wk.keep != nil {
		wk.keep(h, slices.Clone(es))
	}
	return h, nil
}

// verifyTrusted makes sure the trees taken from the index's TREE extension
// are stored, as git's write-tree does before it reuses one: each such
// tree whose parent was not one of them is looked up (git wrote its
// subtrees before it), and when one is missing every one of them is
// stored as any other new tree.
func (wk *walker) verifyTrusted() error {
	stored := true
	for rel, t := range wk.trusted {
		parent, _ := path.Split(strings.TrimSuffix(rel, "/"))
		if _, up := wk.trusted[parent]; rel != "" && up {
			continue
		}
		if !wk.store.isKnown(t.h) && !wk.exist(t.h) {
			stored = false
			break
		}
	}
	for _, t := range wk.trusted {
		if stored {
			wk.store.remember(t.h)
		} else if err := wk.putHashed(t.h, plumbing.TreeObject, t.body); err != nil {
			return err
		}
	}
	return nil
}

// openError is the outcome of a directory that cannot be opened: nil for
// an unreadable untracked one (git warns "could not open directory" and
// goes on, leaving it out), else an error saying what to do.
func (wk *walker) openError(err error, rel string, lo, hi int) error {
	if errors.Is(err, fs.ErrPermission) && hi == lo {
		return nil
	}
	if errors.Is(err, fs.ErrPermission) {
		return factory.Errorf(factory.ECONFLICT,
			"cannot read directory %s (permission denied) and it holds tracked files; make it readable (chmod u+rx) and try again", wk.abs(rel, ""))
	}
	return &fs.PathError{Op: "read directory", Path: wk.abs(rel, ""), Err: err}
}

// ownRules reads the directory's own .gitignore (added to rules) and
// .gitattributes (errNeedGit when it asks for filters), which apply before
// any other entry.
func (wk *walker) ownRules(dirfd dirHandle, des []dirent, rules *gitignore.Rules, rel string, ignored bool) (*gitignore.Rules, error) {
	for _, de := range des {
		switch de.name {
		case ".gitignore":
			if de.typ == 0 && !ignored {
				b, err := readFileAt(dirfd, ".gitignore")
				if err != nil && !errors.Is(err, fs.ErrNotExist) {
					return nil, &fs.PathError{Op: "read", Path: wk.abs(rel, ".gitignore"), Err: err}
				}
				rules = rules.With(gitignore.Parse(rel, b))
			}
		case ".gitattributes":
			if de.typ == 0 {
				b, err := readFileAt(dirfd, ".gitattributes")
				if err == nil && wk.attrs(b) {
					return nil, fmt.Errorf("%w: %s%s sets a filter or line-ending conversion", errNeedGit, rel, ".gitattributes")
				}
			}
		}
	}
	return rules, nil
}

// subdir is a subdirectory to walk, whose tree goes in entries[slot].
type subdir struct {
	slot   int
	name   string
	lo, hi int
	ign    bool
}

// list decides each directory entry: files are hashed (or taken from the
// index or the stat cache), gitlinks resolved, and subdirectories to walk
// returned with a placeholder entry each.
// prev, in an incremental walk, holds the previous tree's file entries of
// this directory: an untouched file is taken from it without a stat.
func (wk *walker) list(dirfd dirHandle, des []dirent, rules *gitignore.Rules, rel string, lo, hi int, ignored bool, prev map[string]Entry) ([]Entry, []subdir, error) {
	kids := wk.children(rel, lo, hi)
	entries := make([]Entry, 0, len(des))
	var subs []subdir
	for _, de := range des {
		name := de.name
		if name == ".git" {
			continue
		}
		kid := kids[name]
		switch t := de.typ; {
		case (t == 0 || t == fs.ModeSymlink) && prev != nil && !wk.forced(rel+name):
			// Untouched since the previous capture, as the watcher
			// vouches: as it was then (absent when it was not taken).
			if e, ok := prev[name]; ok {
				entries = append(entries, e)
			}
		case t == 0 || t == fs.ModeSymlink:
			tracked := kid != nil && kid.file >= 0
			if !tracked && (ignored || rules.Excluded(rel+name, name, false)) {
				continue
			}
			var ie *indexEntry
			if tracked && !kid.conflict {
				ie = &wk.idx[kid.file]
			}
			e, ok, err := wk.file(dirfd, rel, name, ie)
			if err != nil {
				return nil, nil, err
			}
			if ok {
				entries = append(entries, e)
			}
		case t == fs.ModeDir:
			e, sub, ok := wk.dirEntry(name, kid, rules, rel, ignored)
			if !ok {
				continue
			}
			entries = append(entries, e)
			if sub != nil {
				sub.slot = len(entries) - 1
				subs = append(subs, *sub)
			}
		}
	}
	return entries, subs, nil
}

// dirEntry decides a directory entry: a subdirectory to walk (sub set), a
// gitlink (a tracked submodule, or an untracked directory holding a
// repository with a commit), or nothing (ok false: ignored, or a
// repository without commits, which git refuses to add).
func (wk *walker) dirEntry(name string, kid *idxChild, rules *gitignore.Rules, rel string, ignored bool) (e Entry, sub *subdir, ok bool) {
	if kid != nil && kid.hi > kid.lo {
		ign := ignored || rules.Excluded(rel+name, name, true)
		return Entry{Name: name, Mode: modeTree}, &subdir{name: name, lo: kid.lo, hi: kid.hi, ign: ign}, true
	}
	if kid != nil && kid.file >= 0 && wk.idx[kid.file].st.mode == 0o160000 {
		wk.sawGitlink(rel)
		h, _, ok := wk.head(wk.abs(rel, name))
		if !ok {
			h = wk.idx[kid.file].hash
		}
		return Entry{Name: name, Mode: 0o160000, Hash: h}, nil, true
	}
	if ignored || rules.Excluded(rel+name, name, true) {
		return Entry{}, nil, false
	}
	if h, isRepo, ok := wk.head(wk.abs(rel, name)); isRepo {
		wk.sawGitlink(rel)
		return Entry{Name: name, Mode: 0o160000, Hash: h}, nil, ok
	}
	return Entry{Name: name, Mode: modeTree}, &subdir{name: name}, true
}

// subdirs walks the subdirectories, some of them in parallel when a token
// is free, fills in their trees and drops those that turned out empty.
func (wk *walker) subdirs(dirfd dirHandle, entries []Entry, subs []subdir, rules *gitignore.Rules, rel string, in incState) ([]Entry, error) {
	var wg sync.WaitGroup
	errs := make([]error, len(subs))
	for i, s := range subs {
		st, reuse, h, err := wk.subState(in, rel, s.name)
		if err != nil || reuse {
			entries[s.slot].Hash, errs[i] = h, err
			continue
		}
		run := func() {
			h, _, err := wk.dir(dirfd, s.name, rules, rel+s.name+"/", s.lo, s.hi, s.ign, st)
			entries[s.slot].Hash = h
			errs[i] = err
		}
		if i < len(subs)-1 && parallelDepth(rel) {
			select {
			case wk.sem <- struct{}{}:
				wg.Add(1)
				go func() {
					defer func() { <-wk.sem; wg.Done() }()
					run()
				}()
				continue
			default:
			}
		}
		run()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	kept := entries[:0]
	for _, e := range entries {
		if e.Mode == modeTree && e.Hash.IsZero() {
			continue
		}
		kept = append(kept, e)
	}
	return kept, nil
}

// abs returns the absolute path of rel+name.
func (wk *walker) abs(rel, name string) string {
	return filepath.Join(wk.root, filepath.FromSlash(rel), name)
}

// file captures one regular file or symlink, name in the directory rel open
// as dirfd. ie is its index entry when it is tracked (and not conflicted).
// ok is false when the file vanished or is of a kind git does not record.
func (wk *walker) file(dirfd dirHandle, rel, name string, ie *indexEntry) (Entry, bool, error) {
	st, size, err := lstatAt(dirfd, name)
	if vanished(err) {
		return Entry{}, false, nil
	}
	if err != nil {
		return Entry{}, false, &fs.PathError{Op: "lstat", Path: wk.abs(rel, name), Err: err}
	}
	if st.mode != 0o100644 && st.mode != 0o100755 && st.mode != 0o120000 {
		return Entry{}, false, nil
	}
	e := Entry{Name: name, Mode: filemode.FileMode(st.mode)}
	full := rel + name
	force := wk.forced(full)
	if !force && ie != nil && wk.index != nil && sameStat(ie.st, st) && !wk.index.racy(ie.st.mtime) {
		e.Hash = ie.hash
		return e, true, nil
	}
	if !force && wk.old != nil {
		if c, ok := wk.old.entries[full]; ok && sameStat(c.st, st) {
			e.Hash = c.hash
			wk.remember(full, c)
			return e, true, nil
		}
	}
	h, err := wk.hashFile(wk.abs(rel, name), st.mode == 0o120000, size)
	if errors.Is(err, fs.ErrNotExist) {
		return Entry{}, false, nil
	}
	if errors.Is(err, fs.ErrPermission) {
		// git add -A fails here too ("adding files failed").
		return Entry{}, false, factory.Errorf(factory.ECONFLICT,
			"cannot read %s (permission denied); make it readable (chmod u+r) or list it in .gitignore, then try again", full)
	}
	if err != nil {
		return Entry{}, false, err
	}
	e.Hash = h
	if st.mtime < wk.stamp && st.ctime < wk.stamp {
		wk.remember(full, cachedFile{st: st, hash: h})
	}
	return e, true, nil
}

func (wk *walker) sawGitlink(rel string) {
	wk.mu.Lock()
	wk.gitlinks = append(wk.gitlinks, rel)
	wk.mu.Unlock()
}

func (wk *walker) remember(full string, c cachedFile) {
	wk.mu.Lock()
	wk.cache[full] = c
	wk.mu.Unlock()
}

// bigFile is the size above which a file is streamed twice (hash, then
// write if new) instead of being held in memory.
const bigFile = 8 << 20

// hashFile computes the blob id of the file or symlink at p and makes sure
// the blob is in the object store.
func (wk *walker) hashFile(p string, symlink bool, size int64) (plumbing.Hash, error) {
	wk.mu.Lock()
	wk.hashed++
	wk.mu.Unlock()
	if symlink {
		target, err := os.Readlink(p)
		if err != nil {
			return plumbing.ZeroHash, err
		}
		return wk.putBlob([]byte(target))
	}
	if size <= bigFile {
		b, err := os.ReadFile(p)
		if err != nil {
			return plumbing.ZeroHash, err
		}
		return wk.putBlob(b)
	}
	return wk.putBigBlob(p)
}

func (wk *walker) putBlob(b []byte) (plumbing.Hash, error) {
	return wk.put(plumbing.BlobObject, b)
}

// put stores object b of type t unless the object database has it.
func (wk *walker) put(t plumbing.ObjectType, b []byte) (plumbing.Hash, error) {
	h := hashObject(t, b)
	return h, wk.putHashed(h, t, b) // callers read h only without an error
}

// putHashed is put for b whose id h is known.
func (wk *walker) putHashed(h plumbing.Hash, t plumbing.ObjectType, b []byte) error {
	if wk.store.isKnown(h) || wk.batch != nil && wk.batch.Pending(h) {
		return nil
	}
	if !wk.exist(h) {
		if wk.batch != nil && wk.batch.Add(h, t, b) {
			return nil // remembered when the batch is written
		}
		if err := wk.store.writeLoose(h, t, b); err != nil {
			return err
		}
	}
	wk.store.remember(h)
	return nil
}

// putBigBlob streams the file at p into the store: the size its open
// handle has at the start is what is read (as git add does), so a file that
// grows while it is read is taken as it was then. A file that shrinks or is
// rewritten between the hash and the write is read again, and one that
// keeps changing is a conflict, not a broken store.
func (wk *walker) putBigBlob(p string) (plumbing.Hash, error) {
	var err error
	for try := 0; try < 3; try++ {
		var h plumbing.Hash
		h, err = wk.putBigBlobOnce(p)
		if !errors.Is(err, errChangedWhileRead) {
			return h, err
		}
	}
	return plumbing.ZeroHash, factory.Errorf(factory.ECONFLICT,
		"%s kept changing while the snapshot read it (%v); wait for the program writing it to finish, or list it in .gitignore, then try again", p, err)
}

// errChangedWhileRead marks a file that changed between two reads of it.
var errChangedWhileRead = errors.New("changed while being read")

func (wk *walker) putBigBlobOnce(p string) (plumbing.Hash, error) {
	f, err := os.Open(p)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return plumbing.ZeroHash, err
	}
	size := fi.Size()
	d := newObjectHasher(plumbing.BlobObject, size)
	n, err := io.Copy(d, io.LimitReader(f, size))
	if err != nil {
		return plumbing.ZeroHash, err
	}
	if n != size {
		return plumbing.ZeroHash, fmt.Errorf("%w: read %d bytes of %d", errChangedWhileRead, n, size)
	}
	h := sumHash(d)
	if wk.store.isKnown(h) || wk.exist(h) {
		wk.store.remember(h)
		return h, nil
	}
	err = wk.store.writeLooseFrom(h, plumbing.BlobObject, n, func(w io.Writer) error {
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return err
		}
		_, err := io.Copy(w, io.LimitReader(f, size))
		return err
	})
	if errors.Is(err, errObjectChanged) {
		return plumbing.ZeroHash, fmt.Errorf("%w: %v", errChangedWhileRead, err)
	}
	if err != nil {
		return plumbing.ZeroHash, err
	}
	wk.store.remember(h)
	return h, nil
}

func (wk *walker) putTree(es []Entry) (plumbing.Hash, error) {
	h, err := wk.put(plumbing.TreeObject, encodeTree(es))
	if err == nil && wk.keep != nil {
		wk.keep(h, slices.Clone(es))
	}
	return h, err
}

// parallelDepth reports whether subdirectories of rel may be handed to
// another goroutine: only near the top, so that each hand-off carries a
// large subtree (handing off every small directory costs more CPU in
// scheduling than it saves).
func parallelDepth(rel string) bool {
	return strings.Count(rel, "/") < 2
}
