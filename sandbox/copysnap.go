package sandbox

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
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"golang.org/x/sys/unix"
)

// testNoFastCopySnap, set by tests, makes captures of copies take the full
// walk (to compare the two).
var testNoFastCopySnap bool

// errFastGiveUp says the fast capture of a copy cannot be trusted; the full
// capture runs instead.
var errFastGiveUp = errors.New("fast copy capture does not apply")

// copyInfo is what the fast capture knows of one live overlay copy.
type copyInfo struct {
	gitDir    string        // the workspace's git dir
	merged    string        // the copy's Dir (the overlay's mount point)
	upper     string        // the overlay's upper dir
	lowerTree plumbing.Hash // the tree the lower dir materialises
}

// copyRegistry maps the Dir of every live overlay copy of this process
// (as given, and with symlinks resolved) to what it is made of.
var copyRegistry = struct {
	sync.Mutex
	m map[string]*copyInfo
}{m: map[string]*copyInfo{}}

// registerCopy records a live overlay copy; the returned func forgets it
// (call it before unmounting).
func registerCopy(ci *copyInfo) func() {
	keys := []string{filepath.Clean(ci.merged)}
	if r, err := filepath.EvalSymlinks(ci.merged); err == nil && r != keys[0] {
		keys = append(keys, r)
	}
	copyRegistry.Lock()
	for _, k := range keys {
		copyRegistry.m[k] = ci
	}
	copyRegistry.Unlock()
	return func() {
		copyRegistry.Lock()
		for _, k := range keys {
			if copyRegistry.m[k] == ci {
				delete(copyRegistry.m, k)
			}
		}
		copyRegistry.Unlock()
	}
}

func lookupCopy(dir string) *copyInfo {
	copyRegistry.Lock()
	defer copyRegistry.Unlock()
	return copyRegistry.m[filepath.Clean(dir)]
}

// lowerMemo remembers the result of lowerDir for one workspace, index and
// set of global ignore rules; it is emptied when any of them changes, and,
// like the object store's memory of known objects, after knownTTL or a
// repack (the trees it names may have been collected since).
var lowerMemo = struct {
	sync.Mutex
	gitDir string
	idx    *gitIndex
	global string
	since  time.Time
	pack   time.Time
	m      map[lowerKey]plumbing.Hash
}{}

type lowerKey struct {
	tree    plumbing.Hash
	rel     string
	rules   string
	ignored bool
}

// fastCopyTree returns the tree a full capture of dir would write, when dir
// is a live overlay copy this workspace made and the fast path applies.
// Caller holds w.snap.mu (it is called from captureTreeLocked).
func (w *Workspace) fastCopyTree(ctx context.Context, dir string) (plumbing.Hash, bool) {
	if testNoFastCopySnap || dir == w.root {
		return plumbing.ZeroHash, false
	}
	ci := lookupCopy(dir)
	if ci == nil || ci.gitDir != w.gitDir {
		return plumbing.ZeroHash, false
	}
	cfg := readCaptureConfig(w.gitDir)
	if cfg.needGit != "" {
		return plumbing.ZeroHash, false
	}
	idx, err := readIndex(filepath.Join(w.gitDir, "index"), w.snap.index)
	if err != nil {
		return plumbing.ZeroHash, false
	}
	w.snap.index = idx
	w.objects().refresh()
	rules := globalRules(w.gitDir, cfg)
	gkey := globalRulesKey(rules)

	var pack time.Time
	if fi, err := os.Stat(filepath.Join(commonDirOf(w.gitDir), "objects", "pack")); err == nil {
		pack = fi.ModTime()
	}
	lowerMemo.Lock()
	if lowerMemo.gitDir != w.gitDir || lowerMemo.idx != idx || lowerMemo.global != gkey || len(lowerMemo.m) > 100000 ||
		time.Since(lowerMemo.since) > knownTTL || !lowerMemo.pack.Equal(pack) {
		lowerMemo.gitDir, lowerMemo.idx, lowerMemo.global = w.gitDir, idx, gkey
		lowerMemo.since, lowerMemo.pack = time.Now(), pack
		lowerMemo.m = make(map[lowerKey]plumbing.Hash)
	}
	lowerMemo.Unlock()

	fc := &fastCapture{
		w:  w,
		ci: ci,
		wk: &walker{
			ctx:   ctx,
			root:  ci.merged,
			idx:   idx.entries,
			store: w.objects(),
			exist: w.hasObject,
			head:  nestedHead,
			attrs: attributesNeedGit,
			cache: make(map[string]cachedFile),
		},
		lists: map[string]*ignoreList{},
	}
	h, err := fc.upperDir(ci.lowerTree, "", rules, "", 0, len(idx.entries), false)
	if err == nil && h.IsZero() {
		h, err = fc.wk.putTree(nil)
	}
	if err != nil {
		w.cfg.Logger.Debug("fast copy capture gave up; capturing in full", "dir", dir, "err", err)
		return plumbing.ZeroHash, false
	}
	return h, true
}

// globalRulesKey identifies the content of the global ignore rules.
func globalRulesKey(r *ignoreRules) string {
	var b strings.Builder
	for _, l := range r.global {
		fmt.Fprintf(&b, "%v;", l.patterns)
	}
	return b.String()
}

// fastCapture is one fast capture of a copy.
type fastCapture struct {
	w     *Workspace
	ci    *copyInfo
	wk    *walker                // the capture engine's hashing and tree writing
	lists map[string]*ignoreList // parsed .gitignore files by rel and blob id
}

// withIgnore returns the rules and rules key of directory rel once its
// .gitignore (content b, blob id h) is added.
func (fc *fastCapture) withIgnore(rules *ignoreRules, rkey, rel string, h plumbing.Hash, b func() ([]byte, error)) (*ignoreRules, string, error) {
	k := rel + "\x00" + h.String()
	l, ok := fc.lists[k]
	if !ok {
		content, err := b()
		if err != nil {
			return nil, "", err
		}
		l = parseIgnore(rel, content)
		fc.lists[k] = l
	}
	return rules.with(l), rkey + k + "\x00", nil
}

// isFileMode reports whether a tree entry of mode m is materialised as a
// regular file.
func isFileMode(m uint32) bool { return m&0o170000 == 0o100000 }

// diskMode is the mode the capture reads back for an entry of mode m once
// materialised (writeEntry writes 0644 or 0755).
func diskMode(m uint32) uint32 {
	switch {
	case m == 0o100755:
		return 0o100755
	case isFileMode(m):
		return 0o100644
	}
	return m
}

// lowerDir returns the tree the walk would write for directory rel whose
// content on disk is the materialisation of tree h (emptyTree for the empty
// directory a submodule leaves), or a zero hash when nothing is taken.
func (fc *fastCapture) lowerDir(h plumbing.Hash, rel string, rules *ignoreRules, rkey string, lo, hi int, ignored bool) (plumbing.Hash, error) {
	if err := fc.wk.ctx.Err(); err != nil {
		return plumbing.ZeroHash, err
	}
	key := lowerKey{tree: h, rel: rel, rules: rkey, ignored: ignored}
	lowerMemo.Lock()
	r, ok := lowerMemo.m[key]
	lowerMemo.Unlock()
	if ok {
		return r, nil
	}
	var es []gitEntry
	if !h.IsZero() && h != emptyTree {
		var err error
		if es, err = fc.w.readTree(h); err != nil {
			return plumbing.ZeroHash, err
		}
	}
	kids := fc.wk.children(rel, lo, hi)
	for _, e := range es {
		switch {
		case e.name == ".gitignore" && isFileMode(e.mode) && !ignored:
			var err error
			rules, rkey, err = fc.withIgnore(rules, rkey, rel, e.hash, func() ([]byte, error) { return fc.w.readBlob(e.hash) })
			if err != nil {
				return plumbing.ZeroHash, err
			}
		case e.name == ".gitattributes" && isFileMode(e.mode):
			b, err := fc.w.readBlob(e.hash)
			if err != nil {
				return plumbing.ZeroHash, err
			}
			if attributesNeedGit(b) {
				return plumbing.ZeroHash, fmt.Errorf("%w: %s.gitattributes needs git", errFastGiveUp, rel)
			}
		}
	}
	out := make([]gitEntry, 0, len(es))
	same := true
	for _, e := range es {
		ne, ok, err := fc.lowerEntry(e, rel, rules, rkey, kids[e.name], ignored)
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
	lowerMemo.Lock()
	if lowerMemo.m != nil {
		lowerMemo.m[key] = r
	}
	lowerMemo.Unlock()
	return r, nil
}

// lowerEntry decides, as the walk does, what entry e of the lower tree
// (materialised in directory rel, untouched by the upper dir) becomes.
func (fc *fastCapture) lowerEntry(e gitEntry, rel string, rules *ignoreRules, rkey string, kid *idxChild, ignored bool) (gitEntry, bool, error) {
	name := e.name
	if name == ".git" {
		return gitEntry{}, false, nil
	}
	if isFileMode(e.mode) || e.mode == 0o120000 {
		tracked := kid != nil && kid.file >= 0
		if !tracked && (ignored || rules.excluded(rel+name, name, false)) {
			return gitEntry{}, false, nil
		}
		return gitEntry{name: name, mode: diskMode(e.mode), hash: e.hash}, true, nil
	}
	// A directory on disk: a tree, or the empty directory of a submodule.
	sub := e.hash
	if e.mode == 0o160000 {
		sub = emptyTree
	} else if e.mode != modeTree {
		return gitEntry{}, false, fmt.Errorf("%w: %s%s has mode %o", errFastGiveUp, rel, name, e.mode)
	}
	var h plumbing.Hash
	var err error
	switch {
	case kid != nil && kid.hi > kid.lo:
		ign := ignored || rules.excluded(rel+name, name, true)
		h, err = fc.lowerDir(sub, rel+name+"/", rules, rkey, kid.lo, kid.hi, ign)
	case kid != nil && kid.file >= 0 && fc.wk.idx[kid.file].st.mode == 0o160000:
		// The materialised directory holds no repository: the index's
		// commit is kept.
		return gitEntry{name: name, mode: 0o160000, hash: plumbing.Hash(fc.wk.idx[kid.file].hash)}, true, nil
	case ignored || rules.excluded(rel+name, name, true):
		return gitEntry{}, false, nil
	default:
		h, err = fc.lowerDir(sub, rel+name+"/", rules, rkey, 0, 0, false)
	}
	if err != nil || h.IsZero() {
		return gitEntry{}, false, err
	}
	return gitEntry{name: name, mode: modeTree, hash: h}, true, nil
}

// upperDir returns the tree the walk would write for directory rel, which
// the upper dir holds; lower is the lower tree's subtree visible under it
// (zero when none is: a new or opaque directory).
func (fc *fastCapture) upperDir(lower plumbing.Hash, rel string, rules *ignoreRules, rkey string, lo, hi int, ignored bool) (plumbing.Hash, error) {
	if err := fc.wk.ctx.Err(); err != nil {
		return plumbing.ZeroHash, err
	}
	upperPath := filepath.Join(fc.ci.upper, filepath.FromSlash(rel))
	if hasXattr(upperPath, "trusted.overlay.redirect") {
		return plumbing.ZeroHash, fmt.Errorf("%w: %s is a redirected directory", errFastGiveUp, rel)
	}
	upfd, ups, err := openDir(unix.AT_FDCWD, upperPath)
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("%w: list upper %s: %v", errFastGiveUp, rel, err)
	}
	closeDir(upfd)
	inUpper := make(map[string]fs.FileMode, len(ups))
	for _, d := range ups {
		inUpper[d.name] = d.typ
	}
	mergedPath := filepath.Join(fc.ci.merged, filepath.FromSlash(rel))
	dirfd, des, err := openDir(unix.AT_FDCWD, mergedPath)
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("%w: list %s: %v", errFastGiveUp, rel, err)
	}
	defer closeDir(dirfd)
	var lowerEs map[string]gitEntry
	if !lower.IsZero() && lower != emptyTree {
		es, err := fc.w.readTree(lower)
		if err != nil {
			return plumbing.ZeroHash, err
		}
		lowerEs = make(map[string]gitEntry, len(es))
		for _, e := range es {
			lowerEs[e.name] = e
		}
	}
	kids := fc.wk.children(rel, lo, hi)

	// This directory's own .gitignore and .gitattributes first, read from
	// disk as the walk does.
	for _, de := range des {
		if de.typ != 0 || (de.name != ".gitignore" && de.name != ".gitattributes") {
			continue
		}
		if de.name == ".gitignore" && ignored {
			continue
		}
		b, err := readFileAt(dirfd, de.name)
		if err != nil {
			return plumbing.ZeroHash, fmt.Errorf("%w: read %s%s: %v", errFastGiveUp, rel, de.name, err)
		}
		if de.name == ".gitattributes" {
			if attributesNeedGit(b) {
				return plumbing.ZeroHash, fmt.Errorf("%w: %s.gitattributes needs git", errFastGiveUp, rel)
			}
			continue
		}
		rules, rkey, err = fc.withIgnore(rules, rkey, rel, hashObject(plumbing.BlobObject, b), func() ([]byte, error) { return b, nil })
		if err != nil {
			return plumbing.ZeroHash, err
		}
	}

	entries := make([]gitEntry, 0, len(des))
	for _, de := range des {
		name := de.name
		if name == ".git" {
			continue
		}
		kid := kids[name]
		utyp, changed := inUpper[name]
		if !changed {
			le, ok := lowerEs[name]
			if !ok || (le.mode == modeTree || le.mode == 0o160000) != (de.typ == fs.ModeDir) {
				return plumbing.ZeroHash, fmt.Errorf("%w: %s%s is in neither layer as listed", errFastGiveUp, rel, name)
			}
			e, ok, err := fc.lowerEntry(le, rel, rules, rkey, kid, ignored)
			if err != nil {
				return plumbing.ZeroHash, err
			}
			if ok {
				entries = append(entries, e)
			}
			continue
		}
		switch de.typ {
		case 0, fs.ModeSymlink:
			tracked := kid != nil && kid.file >= 0
			if !tracked && (ignored || rules.excluded(rel+name, name, false)) {
				continue
			}
			var sys unix.Stat_t
			if err := fstatatRetry(dirfd, name, &sys); err != nil {
				return plumbing.ZeroHash, fmt.Errorf("%w: lstat %s%s: %v", errFastGiveUp, rel, name, err)
			}
			st := statOfSys(&sys)
			if st.mode != 0o100644 && st.mode != 0o100755 && st.mode != 0o120000 {
				continue
			}
			h, err := fc.wk.hashFile(filepath.Join(mergedPath, name), st.mode == 0o120000, sys.Size)
			if err != nil {
				return plumbing.ZeroHash, fmt.Errorf("%w: hash %s%s: %v", errFastGiveUp, rel, name, err)
			}
			entries = append(entries, gitEntry{name: name, mode: st.mode, hash: h})
		case fs.ModeDir:
			if utyp != fs.ModeDir {
				return plumbing.ZeroHash, fmt.Errorf("%w: %s%s is a directory over a non-directory in the upper dir", errFastGiveUp, rel, name)
			}
			// What of the lower tree shows through the upper directory.
			var sub plumbing.Hash
			if le, ok := lowerEs[name]; ok && !hasXattrValue(filepath.Join(upperPath, name), "trusted.overlay.opaque", "y") {
				switch le.mode {
				case modeTree:
					sub = le.hash
				case 0o160000:
					sub = emptyTree
				}
			}
			var h plumbing.Hash
			var err error
			switch {
			case kid != nil && kid.hi > kid.lo:
				ign := ignored || rules.excluded(rel+name, name, true)
				h, err = fc.upperDir(sub, rel+name+"/", rules, rkey, kid.lo, kid.hi, ign)
			case kid != nil && kid.file >= 0 && fc.wk.idx[kid.file].st.mode == 0o160000:
				gh, _, ok := fc.wk.head(filepath.Join(mergedPath, name))
				if !ok {
					gh = plumbing.Hash(fc.wk.idx[kid.file].hash)
				}
				entries = append(entries, gitEntry{name: name, mode: 0o160000, hash: gh})
				continue
			case ignored || rules.excluded(rel+name, name, true):
				continue
			default:
				if gh, isRepo, ok := fc.wk.head(filepath.Join(mergedPath, name)); isRepo {
					if ok {
						entries = append(entries, gitEntry{name: name, mode: 0o160000, hash: gh})
					}
					continue
				}
				h, err = fc.upperDir(sub, rel+name+"/", rules, rkey, 0, 0, false)
			}
			if err != nil {
				return plumbing.ZeroHash, err
			}
			if !h.IsZero() {
				entries = append(entries, gitEntry{name: name, mode: modeTree, hash: h})
			}
		}
	}
	if len(entries) == 0 {
		return plumbing.ZeroHash, nil
	}
	sortTreeEntries(entries)
	return fc.wk.putTree(entries)
}

// hasXattr reports whether path has extended attribute name.
func hasXattr(path, name string) bool {
	_, err := unix.Lgetxattr(path, name, nil)
	return err == nil
}

// hasXattrValue reports whether path's extended attribute name is value.
func hasXattrValue(path, name, value string) bool {
	buf := make([]byte, 16)
	n, err := unix.Lgetxattr(path, name, buf)
	return err == nil && bytes.Equal(buf[:n], []byte(value))
}
