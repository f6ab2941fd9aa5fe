package gitstore

// Fast capture of overlay copies. A copy made by Isolate as an overlay is a
// read-only lower dir holding a materialised tree L plus an upper dir
// holding everything written since (through the merged mount). The tree a
// full capture of the merged dir would write is therefore L's tree, as the
// capture rules see a materialisation of it, with the entries the upper dir
// holds re-read from disk. This file computes exactly that, reading only
// the directories the upper dir holds and L's (cached) tree objects, so
// that capturing a 20,000-file copy after a one-line change costs a few
// directory listings instead of 20,000 hashes.
//
// The rules are those of walk.go, applied to two kinds of directory:
//
//   - a directory the upper dir holds (upperDir): listed through the merged
//     mount like the full walk does; names the upper dir holds are read from
//     disk (through the merged mount, so metacopy-only copy-ups read the
//     right data), other names come from L's entry for them;
//   - a directory the upper dir does not hold (lowerDir): its content on
//     disk is exactly the materialisation of L's subtree, so the walk's
//     decisions are made on the tree object's entries. The result is L's
//     subtree itself unless the current index or ignore rules drop
//     something; it is memoised per (subtree, path, rules, ignored).
//
// Anything the fast path does not model (a redirected directory, an
// inconsistent listing, a read error, attributes that need git) makes it
// give up, and the full capture runs instead: it is only ever a shortcut.

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"sync"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"

	"github.com/factory-dev/factory/sandbox/gitstore/gitdir"
	"github.com/factory-dev/factory/sandbox/gitstore/gitignore"
)

// errFastGiveUp says the fast capture of a copy cannot be trusted; the full
// capture runs instead.
var errFastGiveUp = errors.New("fast copy capture does not apply")

// lowerMemo remembers the result of lowerDir for one index and set of
// global ignore rules; it is emptied when either changes, and, like the
// object store's memory of known objects, after knownTTL or a repack (the
// trees it names may have been collected since).
type lowerMemo struct {
	mu     sync.Mutex
	idx    *gitIndex
	global string
	since  time.Time
	pack   time.Time
	m      map[lowerKey]plumbing.Hash
}

type lowerKey struct {
	tree    plumbing.Hash
	rel     string
	rules   string
	ignored bool
}

// reset empties the memo unless it was made for idx, global rules gkey and
// the pack directory's mtime pack.
func (lm *lowerMemo) reset(idx *gitIndex, gkey string, pack time.Time) {
	lm.mu.Lock()
	defer lm.mu.Unlock()
	if lm.idx != idx || lm.global != gkey || len(lm.m) > 100000 ||
		time.Since(lm.since) > knownTTL || !lm.pack.Equal(pack) {
		lm.idx, lm.global = idx, gkey
		lm.since, lm.pack = time.Now(), pack
		lm.m = make(map[lowerKey]plumbing.Hash)
	}
}

// CaptureOverlay returns the tree Capture of the overlay ov would write,
// reading only the directories its upper dir holds, and false when this
// shortcut does not apply (the caller then captures in full).
func (s *Store) CaptureOverlay(ctx context.Context, ov *Overlay) (plumbing.Hash, bool) {
	s.capMu.Lock()
	defer s.capMu.Unlock()
	cfg := readCaptureConfig(s.cfg.GitDir)
	if cfg.needGit != "" {
		return plumbing.ZeroHash, false
	}
	idx, err := readIndex(filepath.Join(s.cfg.GitDir, "index"), s.index)
	if err != nil {
		return plumbing.ZeroHash, false
	}
	s.index = idx
	s.refreshObjects()
	rules := globalRules(s.cfg.GitDir, cfg)
	// The pack directory as refresh last saw it: a pack of our own
	// snapshots (ownPackWrite) does not empty the memo, a repack does.
	s.lower.reset(idx, rules.GlobalKey(), s.objects.packStamp())

	fc := &fastCapture{
		s:  s,
		ov: ov,
		wk: &walker{
			ctx:   ctx,
			root:  ov.Merged,
			idx:   idx.entries,
			store: s.objects,
			exist: s.HasObject,
			head:  gitdir.NestedHead,
			attrs: attributesNeedGit,
			cache: make(map[string]cachedFile),
		},
		lists: map[string]*gitignore.List{},
	}
	h, err := fc.upperDir(ov.LowerTree, "", rules, "", 0, len(idx.entries), false)
	if err == nil && h.IsZero() {
		h, err = fc.wk.putTree(nil)
	}
	if err != nil {
		s.cfg.Logger.Debug("fast copy capture gave up; capturing in full", "dir", ov.Merged, "err", err)
		return plumbing.ZeroHash, false
	}
	return h, true
}

// fastCapture is one fast capture of a copy.
type fastCapture struct {
	s     *Store
	ov    *Overlay
	wk    *walker                    // the capture engine's hashing and tree writing
	lists map[string]*gitignore.List // parsed .gitignore files by rel and blob id
}

// withIgnore returns the rules and rules key of directory rel once its
// .gitignore (content b, blob id h) is added.
func (fc *fastCapture) withIgnore(rules *gitignore.Rules, rkey, rel string, h plumbing.Hash, b func() ([]byte, error)) (*gitignore.Rules, string, error) {
	k := rel + "\x00" + h.String()
	l, ok := fc.lists[k]
	if !ok {
		content, err := b()
		if err != nil {
			return nil, "", err
		}
		l = gitignore.Parse(rel, content)
		fc.lists[k] = l
	}
	return rules.With(l), rkey + k + "\x00", nil
}

// isFileMode reports whether a tree entry of mode m is materialised as a
// regular file.
func isFileMode(m filemode.FileMode) bool { return m&0o170000 == 0o100000 }

// diskMode is the mode the capture reads back for an entry of mode m once
// materialised (writeEntry writes 0644 or 0755).
func diskMode(m filemode.FileMode) filemode.FileMode {
	switch {
	case m == 0o100755:
		return 0o100755
	case isFileMode(m):
		return 0o100644
	}
	return m
}

// lowerDir returns the tree the walk would write for directory rel whose
// content on disk is the materialisation of tree h (EmptyTree for the empty
// directory a submodule leaves), or a zero hash when nothing is taken.
func (fc *fastCapture) lowerDir(h plumbing.Hash, rel string, rules *gitignore.Rules, rkey string, lo, hi int, ignored bool) (plumbing.Hash, error) {
	if err := fc.wk.ctx.Err(); err != nil {
		return plumbing.ZeroHash, err
	}
	key := lowerKey{tree: h, rel: rel, rules: rkey, ignored: ignored}
	fc.s.lower.mu.Lock()
	r, ok := fc.s.lower.m[key]
	fc.s.lower.mu.Unlock()
	if ok {
		return r, nil
	}
	var es []Entry
	if !h.IsZero() && h != EmptyTree {
		var err error
		if es, err = fc.s.ReadTree(h); err != nil {
			return plumbing.ZeroHash, err
		}
	}
	kids := fc.wk.children(rel, lo, hi)
	for _, e := range es {
		switch {
		case e.Name == ".gitignore" && isFileMode(e.Mode) && !ignored:
			var err error
			rules, rkey, err = fc.withIgnore(rules, rkey, rel, e.Hash, func() ([]byte, error) { return fc.s.ReadBlob(e.Hash) })
			if err != nil {
				return plumbing.ZeroHash, err
			}
		case e.Name == ".gitattributes" && isFileMode(e.Mode):
			b, err := fc.s.ReadBlob(e.Hash)
			if err != nil {
				return plumbing.ZeroHash, err
			}
			if attributesNeedGit(b) {
				return plumbing.ZeroHash, fmt.Errorf("%w: %s.gitattributes needs git", errFastGiveUp, rel)
			}
		}
	}
	out := make([]Entry, 0, len(es))
	same := true
	for _, e := range es {
		ne, ok, err := fc.lowerEntry(e, rel, rules, rkey, kids[e.Name], ignored)
		if err != nil {
			return plumbing.ZeroHash, err
		}
		if !ok {
			same = false
			continue
		}
		if ne != e {
			same = false
		}
		out = append(out, ne)
	}
	switch {
	case len(out) == 0:
		r = plumbing.ZeroHash
	case same:
		r = h
	default:
		sortTreeEntries(out)
		var err error
		if r, err = fc.wk.putTree(out); err != nil {
			return plumbing.ZeroHash, err
		}
	}
	fc.s.lower.mu.Lock()
	if fc.s.lower.m != nil {
		fc.s.lower.m[key] = r
	}
	fc.s.lower.mu.Unlock()
	return r, nil
}

// lowerEntry decides, as the walk does, what entry e of the lower tree
// (materialised in directory rel, untouched by the upper dir) becomes.
func (fc *fastCapture) lowerEntry(e Entry, rel string, rules *gitignore.Rules, rkey string, kid *idxChild, ignored bool) (Entry, bool, error) {
	name := e.Name
	if name == ".git" {
		return Entry{}, false, nil
	}
	if isFileMode(e.Mode) || e.Mode == 0o120000 {
		tracked := kid != nil && kid.file >= 0
		if !tracked && (ignored || rules.Excluded(rel+name, name, false)) {
			return Entry{}, false, nil
		}
		return Entry{Name: name, Mode: diskMode(e.Mode), Hash: e.Hash}, true, nil
	}
	// A directory on disk: a tree, or the empty directory of a submodule.
	sub := e.Hash
	if e.Mode == 0o160000 {
		sub = EmptyTree
	} else if e.Mode != modeTree {
		return Entry{}, false, fmt.Errorf("%w: %s%s has mode %o", errFastGiveUp, rel, name, e.Mode)
	}
	var h plumbing.Hash
	var err error
	switch {
	case kid != nil && kid.hi > kid.lo:
		ign := ignored || rules.Excluded(rel+name, name, true)
		h, err = fc.lowerDir(sub, rel+name+"/", rules, rkey, kid.lo, kid.hi, ign)
	case kid != nil && kid.file >= 0 && fc.wk.idx[kid.file].st.mode == 0o160000:
		// The materialised directory holds no repository: the index's
		// commit is kept.
		return Entry{Name: name, Mode: 0o160000, Hash: plumbing.Hash(fc.wk.idx[kid.file].hash)}, true, nil
	case ignored || rules.Excluded(rel+name, name, true):
		return Entry{}, false, nil
	default:
		h, err = fc.lowerDir(sub, rel+name+"/", rules, rkey, 0, 0, false)
	}
	if err != nil || h.IsZero() {
		return Entry{}, false, err
	}
	return Entry{Name: name, Mode: modeTree, Hash: h}, true, nil
}

// upperDir returns the tree the walk would write for directory rel, which
// the upper dir holds; lower is the lower tree's subtree visible under it
// (zero when none is: a new or opaque directory).
func (fc *fastCapture) upperDir(lower plumbing.Hash, rel string, rules *gitignore.Rules, rkey string, lo, hi int, ignored bool) (plumbing.Hash, error) {
	if err := fc.wk.ctx.Err(); err != nil {
		return plumbing.ZeroHash, err
	}
	u := &upperLevel{fc: fc, rel: rel, rules: rules, rkey: rkey, ignored: ignored,
		upperPath:  filepath.Join(fc.ov.Upper, filepath.FromSlash(rel)),
		mergedPath: filepath.Join(fc.ov.Merged, filepath.FromSlash(rel)),
	}
	if err := u.listUpper(); err != nil {
		return plumbing.ZeroHash, err
	}
	dirfd, des, err := openDir(topDir, u.mergedPath)
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("%w: list %s: %v", errFastGiveUp, rel, err)
	}
	defer closeDir(dirfd)
	u.dirfd = dirfd
	if u.lowerEs, err = fc.entriesByName(lower); err != nil {
		return plumbing.ZeroHash, err
	}
	u.kids = fc.wk.children(rel, lo, hi)
	if err := u.ownRules(des); err != nil {
		return plumbing.ZeroHash, err
	}
	entries := make([]Entry, 0, len(des))
	for _, de := range des {
		if de.name == ".git" {
			continue
		}
		e, ok, err := u.entry(de)
		if err != nil {
			return plumbing.ZeroHash, err
		}
		if ok {
			entries = append(entries, e)
		}
	}
	if len(entries) == 0 {
		return plumbing.ZeroHash, nil
	}
	sortTreeEntries(entries)
	return fc.wk.putTree(entries)
}

// upperLevel is one directory of a fast capture that the upper dir holds.
type upperLevel struct {
	fc                    *fastCapture
	rel                   string
	rules                 *gitignore.Rules
	rkey                  string
	ignored               bool
	upperPath, mergedPath string
	dirfd                 dirHandle              // the merged directory, open
	inUpper               map[string]fs.FileMode // names the upper dir holds, by type
	lowerEs               map[string]Entry       // the lower subtree's entries
	kids                  map[string]*idxChild
}

// listUpper reads which names the upper dir holds; a redirected directory
// is not modelled.
func (u *upperLevel) listUpper() error {
	if hasXattr(u.upperPath, "trusted.overlay.redirect") {
		return fmt.Errorf("%w: %s is a redirected directory", errFastGiveUp, u.rel)
	}
	upfd, ups, err := openDir(topDir, u.upperPath)
	if err != nil {
		return fmt.Errorf("%w: list upper %s: %v", errFastGiveUp, u.rel, err)
	}
	closeDir(upfd)
	u.inUpper = make(map[string]fs.FileMode, len(ups))
	for _, d := range ups {
		u.inUpper[d.name] = d.typ
	}
	return nil
}

// entriesByName returns the entries of tree h by name (none for the zero
// hash or the empty tree).
func (fc *fastCapture) entriesByName(h plumbing.Hash) (map[string]Entry, error) {
	es, err := fc.s.ReadTree(h)
	if err != nil || len(es) == 0 {
		return nil, err
	}
	m := make(map[string]Entry, len(es))
	for _, e := range es {
		m[e.Name] = e
	}
	return m, nil
}

// ownRules reads the directory's own .gitignore and .gitattributes from
// disk, as the walk does, before any other entry.
func (u *upperLevel) ownRules(des []dirent) error {
	for _, de := range des {
		if de.typ != 0 || (de.name != ".gitignore" && de.name != ".gitattributes") {
			continue
		}
		if de.name == ".gitignore" && u.ignored {
			continue
		}
		b, err := readFileAt(u.dirfd, de.name)
		if err != nil {
			return fmt.Errorf("%w: read %s%s: %v", errFastGiveUp, u.rel, de.name, err)
		}
		if de.name == ".gitattributes" {
			if attributesNeedGit(b) {
				return fmt.Errorf("%w: %s.gitattributes needs git", errFastGiveUp, u.rel)
			}
			continue
		}
		u.rules, u.rkey, err = u.fc.withIgnore(u.rules, u.rkey, u.rel, hashObject(plumbing.BlobObject, b), func() ([]byte, error) { return b, nil })
		if err != nil {
			return err
		}
	}
	return nil
}

// entry decides one name of the merged listing: from the lower tree when
// the upper dir does not hold it, else from disk.
func (u *upperLevel) entry(de dirent) (Entry, bool, error) {
	name := de.name
	kid := u.kids[name]
	utyp, changed := u.inUpper[name]
	if !changed {
		le, ok := u.lowerEs[name]
		if !ok || (le.Mode == modeTree || le.Mode == 0o160000) != (de.typ == fs.ModeDir) {
			return Entry{}, false, fmt.Errorf("%w: %s%s is in neither layer as listed", errFastGiveUp, u.rel, name)
		}
		return u.fc.lowerEntry(le, u.rel, u.rules, u.rkey, kid, u.ignored)
	}
	switch de.typ {
	case 0, fs.ModeSymlink:
		return u.file(name, kid)
	case fs.ModeDir:
		if utyp != fs.ModeDir {
			return Entry{}, false, fmt.Errorf("%w: %s%s is a directory over a non-directory in the upper dir", errFastGiveUp, u.rel, name)
		}
		return u.subdir(name, kid)
	}
	return Entry{}, false, nil
}

// file hashes a file or symlink the upper dir holds.
func (u *upperLevel) file(name string, kid *idxChild) (Entry, bool, error) {
	tracked := kid != nil && kid.file >= 0
	if !tracked && (u.ignored || u.rules.Excluded(u.rel+name, name, false)) {
		return Entry{}, false, nil
	}
	st, size, err := lstatAt(u.dirfd, name)
	if err != nil {
		return Entry{}, false, fmt.Errorf("%w: lstat %s%s: %v", errFastGiveUp, u.rel, name, err)
	}
	if st.mode != 0o100644 && st.mode != 0o100755 && st.mode != 0o120000 {
		return Entry{}, false, nil
	}
	h, err := u.fc.wk.hashFile(filepath.Join(u.mergedPath, name), st.mode == 0o120000, size)
	if err != nil {
		return Entry{}, false, fmt.Errorf("%w: hash %s%s: %v", errFastGiveUp, u.rel, name, err)
	}
	return Entry{Name: name, Mode: filemode.FileMode(st.mode), Hash: h}, true, nil
}

// subdir decides a directory the upper dir holds: a subdirectory walked
// with what of the lower tree shows through it, or a gitlink.
func (u *upperLevel) subdir(name string, kid *idxChild) (Entry, bool, error) {
	var sub plumbing.Hash
	if le, ok := u.lowerEs[name]; ok && !hasXattrValue(filepath.Join(u.upperPath, name), "trusted.overlay.opaque", "y") {
		switch le.Mode {
		case modeTree:
			sub = le.Hash
		case 0o160000:
			sub = EmptyTree
		}
	}
	fc, rel := u.fc, u.rel
	var h plumbing.Hash
	var err error
	switch {
	case kid != nil && kid.hi > kid.lo:
		ign := u.ignored || u.rules.Excluded(rel+name, name, true)
		h, err = fc.upperDir(sub, rel+name+"/", u.rules, u.rkey, kid.lo, kid.hi, ign)
	case kid != nil && kid.file >= 0 && fc.wk.idx[kid.file].st.mode == 0o160000:
		gh, _, ok := fc.wk.head(filepath.Join(u.mergedPath, name))
		if !ok {
			gh = plumbing.Hash(fc.wk.idx[kid.file].hash)
		}
		return Entry{Name: name, Mode: 0o160000, Hash: gh}, true, nil
	case u.ignored || u.rules.Excluded(rel+name, name, true):
		return Entry{}, false, nil
	default:
		if gh, isRepo, ok := fc.wk.head(filepath.Join(u.mergedPath, name)); isRepo {
			return Entry{Name: name, Mode: 0o160000, Hash: gh}, ok, nil
		}
		h, err = fc.upperDir(sub, rel+name+"/", u.rules, u.rkey, 0, 0, false)
	}
	if err != nil || h.IsZero() {
		return Entry{}, false, err
	}
	return Entry{Name: name, Mode: modeTree, Hash: h}, true, nil
}
