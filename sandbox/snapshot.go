package sandbox

// Snapshots: capture of the live tree (or any directory) as a commit under
// refs/factory/snapshots/<id>, listing, resolution. Restore and diff live in
// restore*.go and diff*.go.
//
// Internal helpers other files of this package may call (all safe for
// concurrent use; none writes the user's index, HEAD, branches or files):
//
//	w.captureTree(ctx, dir string) (plumbing.Hash, error)
//	    the tree `git add -A` would write for dir (w.Root() or an isolated
//	    copy), stored in the object database; no commit, no ref.
//	w.readTree(h plumbing.Hash) ([]gitEntry, error)
//	    the entries of one tree object (cached; h must be a tree).
//	w.writeTree(es []gitEntry) (plumbing.Hash, error)
//	    stores a tree object built from es (any order; sorted here).
//	w.readObject(t plumbing.ObjectType, h plumbing.Hash) ([]byte, error)
//	    the body of any object, re-reading pack indexes once on a miss (go-git
//	    does not notice packs written by git gc after it opened the repo).
//	w.headCommit() (plumbing.Hash, bool)
//	    HEAD's commit; false in a repository without commits.
//	w.countChanges(from, to plumbing.Hash) (factory.Changes, error)
//	    files added, modified, deleted from tree from to tree to (zero = empty).

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/factory-dev/factory"
	"github.com/factory-dev/factory/sandbox/textdiff"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/storer"
)

// SnapshotFilter selects snapshots for Snapshots. Zero fields select all.
type SnapshotFilter struct {
	Label string // only snapshots with exactly this label
	RunID string // only snapshots created by this run
	Limit int    // at most this many (newest first); 0 means no limit
}

// captureState is the capture engine's memory across calls on one
// Workspace. Everything in it is a cache: losing it costs time, not
// correctness.
type captureState struct {
	mu     sync.Mutex // serialises captures, ref creation and deletion
	store  *objectStore
	index  *gitIndex
	caches map[string]*statCache // by absolute directory captured
	latest *factory.Snapshot     // newest snapshot this process knows of

	metaMu sync.Mutex
	meta   map[plumbing.Hash]factory.Snapshot // parsed snapshot commits (ID unset)
	trees  map[plumbing.Hash][]gitEntry       // decoded trees (bounded)
}

// maxLabel bounds a snapshot label's length in bytes.
const maxLabel = 200

// Snapshot captures the live working tree as a snapshot: a commit whose
// tree is what `git add -A` would stage and whose parent is HEAD (none in a
// repository without commits). It writes objects and one ref under
// refs/factory/snapshots/ and nothing else: the user's index, HEAD,
// branches and files are never touched. When the tree equals the newest
// snapshot's (and label is empty or the same), that snapshot is returned
// with Reused set. Errors: EINVALID for a label longer than 200 bytes or
// holding control characters; ECONFLICT when the tree cannot be read
// (a directory vanished mid-walk); EINTERNAL for faults of the machine.
func (w *Workspace) Snapshot(ctx context.Context, label string) (factory.Snapshot, error) {
	return w.snapshot(ctx, w.root, label, "live")
}

// SnapshotDir captures dir, a directory laid out like the workspace (an
// isolated copy of it), with the workspace's ignore rules and object store,
// as a snapshot whose parent is the workspace's HEAD. dir's own .git, if
// any, is ignored; the workspace's index says which paths are tracked (so
// tracked files inside ignored folders are kept) but its stat data are not
// trusted for dir, which keeps a stat cache of its own across calls.
// Errors as for Snapshot, plus EINVALID when dir is not an existing
// directory.
func (w *Workspace) SnapshotDir(ctx context.Context, dir, label string) (factory.Snapshot, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return factory.Snapshot{}, factory.Errorf(factory.EINVALID, "directory %q: %v", dir, err)
	}
	if fi, err := os.Stat(abs); err != nil || !fi.IsDir() {
		return factory.Snapshot{}, factory.Errorf(factory.EINVALID, "%s is not a directory; pass an isolated copy of the workspace", abs)
	}
	if r, err := filepath.EvalSymlinks(abs); err == nil {
		abs = r
	}
	return w.snapshot(ctx, abs, label, "dir")
}

func (w *Workspace) snapshot(ctx context.Context, dir, label, source string) (factory.Snapshot, error) {
	if err := checkLabel(label); err != nil {
		return factory.Snapshot{}, err
	}
	if w.cfg.Redact != nil {
		label = w.cfg.Redact(label) // the label becomes the commit message
	}
	if err := ctx.Err(); err != nil {
		return factory.Snapshot{}, factory.Wrap("snapshot", err)
	}
	w.snap.mu.Lock()
	defer w.snap.mu.Unlock()

	head, hasHead := w.headCommit()
	tree, err := w.captureTreeLocked(ctx, dir)
	if err != nil {
		return factory.Snapshot{}, factory.Wrap("snapshot", err)
	}
	if last := w.latestLocked(ctx); last != nil && last.Tree == tree.String() && (label == "" || label == last.Label) {
		s := *last
		s.Reused = true
		return s, nil
	}
	var headTree plumbing.Hash
	if hasHead {
		if headTree, err = w.commitTree(head); err != nil {
			return factory.Snapshot{}, factory.Wrap("snapshot: read HEAD", err)
		}
	}
	changes, err := w.countChanges(headTree, tree)
	if err != nil {
		return factory.Snapshot{}, factory.Wrap("snapshot: compare with HEAD", err)
	}
	call := factory.CallFrom(ctx)
	s := factory.Snapshot{
		Tree:    tree.String(),
		Label:   label,
		RunID:   call.RunID,
		StepID:  call.StepID,
		Created: time.Now().UTC(),
		Changes: changes,
	}
	if hasHead {
		s.Parent = head.String()
	}
	body := encodeSnapshotCommit(s, source)
	ch := hashObject(plumbing.CommitObject, body)
	if err := w.objects().writeLoose(ch, plumbing.CommitObject, body); err != nil {
		return factory.Snapshot{}, factory.Wrap("snapshot: write commit", err)
	}
	s.Commit = ch.String()
	s.ID, err = w.createSnapshotRef(ch)
	if err != nil {
		return factory.Snapshot{}, factory.Wrap("snapshot: create ref", err)
	}
	w.snap.metaMu.Lock()
	if w.snap.meta == nil {
		w.snap.meta = make(map[plumbing.Hash]factory.Snapshot)
	}
	m := s
	m.ID = ""
	w.snap.meta[ch] = m
	w.snap.metaMu.Unlock()
	w.snap.latest = &s
	w.cfg.Logger.Debug("snapshot", "id", s.ID, "tree", s.Tree, "label", label, "source", source)
	return s, nil
}

func checkLabel(label string) error {
	if len(label) > maxLabel {
		return factory.Errorf(factory.EINVALID, "label is %d bytes long; use at most %d", len(label), maxLabel)
	}
	if !utf8.ValidString(label) {
		return factory.Errorf(factory.EINVALID, "label is not valid UTF-8")
	}
	for _, r := range label {
		if unicode.IsControl(r) {
			return factory.Errorf(factory.EINVALID, "label %q holds a control character (newline, tab, ...); use a single line of text", textdiff.Clip(label, 60))
		}
	}
	return nil
}

// captureTree returns the tree `git add -A` would write for dir (the live
// tree when dir is w.Root()), storing its objects. See the list at the top
// of this file.
func (w *Workspace) captureTree(ctx context.Context, dir string) (plumbing.Hash, error) {
	w.snap.mu.Lock()
	defer w.snap.mu.Unlock()
	return w.captureTreeLocked(ctx, dir)
}

func (w *Workspace) captureTreeLocked(ctx context.Context, dir string) (plumbing.Hash, error) {
	if h, ok := w.fastCopyTree(ctx, dir); ok { // overlay copies: copysnap.go
		return h, nil
	}
	cfg := readCaptureConfig(w.gitDir)
	if cfg.needGit != "" {
		return w.gitCaptureTree(ctx, dir, cfg.needGit)
	}
	idx, err := readIndex(filepath.Join(w.gitDir, "index"), w.snap.index)
	if errors.Is(err, errIndexUnsupported) {
		return w.gitCaptureTree(ctx, dir, err.Error())
	}
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("read index: %w", err)
	}
	w.snap.index = idx
	live := dir == w.root
	var statIdx *gitIndex
	if live {
		statIdx = idx
	}
	if w.snap.caches == nil {
		w.snap.caches = make(map[string]*statCache)
	}
	old := w.snap.caches[dir]
	w.objects().refresh()
	res, err := w.captureWalk(ctx, dir, idx.entries, statIdx, old, globalRules(w.gitDir, cfg))
	if errors.Is(err, errNeedGit) {
		return w.gitCaptureTree(ctx, dir, err.Error())
	}
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return plumbing.ZeroHash, factory.Errorf(factory.ECONFLICT, "the tree changed while it was being captured (%v); try again", err)
		}
		return plumbing.ZeroHash, err
	}
	if !live && len(w.snap.caches) >= 8 {
		for k := range w.snap.caches {
			if k != w.root {
				delete(w.snap.caches, k)
				break
			}
		}
	}
	w.snap.caches[dir] = res.cache
	return res.tree, nil
}

// objects returns the loose-object writer of the workspace's object store.
func (w *Workspace) objects() *objectStore {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.snap.store == nil {
		w.snap.store = &objectStore{dir: filepath.Join(commonDirOf(w.gitDir), "objects")}
	}
	return w.snap.store
}

// hasObject asks the object database (loose objects, packs) whether h
// exists. A loose object found is freshened (its mtime set to now), as git
// does before reusing an object, so that `git prune` (which spares objects
// younger than two weeks) does not delete it from under a new snapshot.
func (w *Workspace) hasObject(h plumbing.Hash) bool {
	p := w.objects().loosePath(h)
	if _, err := os.Lstat(p); err == nil {
		now := time.Now()
		os.Chtimes(p, now, now)
		return true
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.repo.Storer.HasEncodedObject(h) == nil
}

// readObject returns the body of object h of type t (plumbing.AnyObject
// for any). go-git loads pack indexes once; when an object is missing, the
// indexes are reloaded and the read tried again, so objects that git gc
// moved into a new pack are found.
func (w *Workspace) readObject(t plumbing.ObjectType, h plumbing.Hash) ([]byte, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	o, err := w.repo.Storer.EncodedObject(t, h)
	if errors.Is(err, plumbing.ErrObjectNotFound) {
		if r, ok := w.repo.Storer.(interface{ Reindex() }); ok {
			r.Reindex()
			o, err = w.repo.Storer.EncodedObject(t, h)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("read object %s: %w", h, err)
	}
	rd, err := o.Reader()
	if err != nil {
		return nil, fmt.Errorf("read object %s: %w", h, err)
	}
	defer rd.Close()
	var buf bytes.Buffer
	buf.Grow(int(o.Size()))
	if _, err := buf.ReadFrom(rd); err != nil {
		return nil, fmt.Errorf("read object %s: %w", h, err)
	}
	return buf.Bytes(), nil
}

// readTree returns the entries of tree h, in tree order.
func (w *Workspace) readTree(h plumbing.Hash) ([]gitEntry, error) {
	w.snap.metaMu.Lock()
	es, ok := w.snap.trees[h]
	w.snap.metaMu.Unlock()
	if ok {
		return es, nil
	}
	b, err := w.readObject(plumbing.TreeObject, h)
	if err != nil {
		return nil, err
	}
	es, err = decodeTree(b)
	if err != nil {
		return nil, fmt.Errorf("tree %s: %w", h, err)
	}
	w.snap.metaMu.Lock()
	if w.snap.trees == nil || len(w.snap.trees) > 20000 {
		w.snap.trees = make(map[plumbing.Hash][]gitEntry)
	}
	w.snap.trees[h] = es
	w.snap.metaMu.Unlock()
	return es, nil
}

// writeTree stores a tree made of es (sorted here into git's order).
func (w *Workspace) writeTree(es []gitEntry) (plumbing.Hash, error) {
	es = append([]gitEntry(nil), es...)
	sortTreeEntries(es)
	b := encodeTree(es)
	h := hashObject(plumbing.TreeObject, b)
	st := w.objects()
	if st.isKnown(h) || w.hasObject(h) {
		st.remember(h)
		return h, nil
	}
	if err := st.writeLoose(h, plumbing.TreeObject, b); err != nil {
		return plumbing.ZeroHash, err
	}
	st.remember(h)
	return h, nil
}

// headCommit returns the commit HEAD names (through its branch, or
// detached), and false when HEAD names nothing yet.
func (w *Workspace) headCommit() (plumbing.Hash, bool) {
	return resolveRef(w.gitDir, commonDirOf(w.gitDir), "HEAD", 0)
}

// commitTree returns the tree of commit c.
func (w *Workspace) commitTree(c plumbing.Hash) (plumbing.Hash, error) {
	b, err := w.readObject(plumbing.CommitObject, c)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	line, _, _ := bytes.Cut(b, []byte("\n"))
	t, ok := strings.CutPrefix(string(line), "tree ")
	if !ok {
		return plumbing.ZeroHash, fmt.Errorf("commit %s has no tree", c)
	}
	h, ok := parseHex(t)
	if !ok {
		return plumbing.ZeroHash, fmt.Errorf("commit %s has a malformed tree line", c)
	}
	return h, nil
}

// countChanges counts the files added, modified and deleted going from tree
// a to tree b (a zero hash is the empty tree). It reads only the subtrees
// that differ. A path that changes between file and directory counts as
// the files deleted and added.
func (w *Workspace) countChanges(a, b plumbing.Hash) (factory.Changes, error) {
	var c factory.Changes
	var walk func(a, b plumbing.Hash) error
	var countTree func(h plumbing.Hash, n *int) error
	countTree = func(h plumbing.Hash, n *int) error {
		es, err := w.readTree(h)
		if err != nil {
			return err
		}
		for _, e := range es {
			if e.mode == modeTree {
				if err := countTree(e.hash, n); err != nil {
					return err
				}
			} else {
				*n++
			}
		}
		return nil
	}
	walk = func(a, b plumbing.Hash) error {
		if a == b {
			return nil
		}
		var ea, eb []gitEntry
		var err error
		if !a.IsZero() {
			if ea, err = w.readTree(a); err != nil {
				return err
			}
		}
		if !b.IsZero() {
			if eb, err = w.readTree(b); err != nil {
				return err
			}
		}
		type pair struct{ a, b *gitEntry }
		byName := make(map[string]*pair, len(ea)+len(eb))
		for i := range ea {
			byName[ea[i].name] = &pair{a: &ea[i]}
		}
		for i := range eb {
			if p, ok := byName[eb[i].name]; ok {
				p.b = &eb[i]
			} else {
				byName[eb[i].name] = &pair{b: &eb[i]}
			}
		}
		for _, p := range byName {
			var ta, tb plumbing.Hash
			fa, fb := false, false
			if p.a != nil {
				if p.a.mode == modeTree {
					ta = p.a.hash
				} else {
					fa = true
				}
			}
			if p.b != nil {
				if p.b.mode == modeTree {
					tb = p.b.hash
				} else {
					fb = true
				}
			}
			switch {
			case fa && fb:
				if p.a.hash != p.b.hash || p.a.mode != p.b.mode {
					c.Modified++
				}
			case fa:
				c.Deleted++
			case fb:
				c.Added++
			}
			switch {
			case !ta.IsZero() && !tb.IsZero():
				if err := walk(ta, tb); err != nil {
					return err
				}
			case !ta.IsZero():
				if err := countTree(ta, &c.Deleted); err != nil {
					return err
				}
			case !tb.IsZero():
				if err := countTree(tb, &c.Added); err != nil {
					return err
				}
			}
		}
		return nil
	}
	return c, walk(a, b)
}

// Trailer keys of a snapshot commit message.
const (
	trailerLabel   = "Factory-Label"
	trailerRun     = "Factory-Run"
	trailerStep    = "Factory-Step"
	trailerTime    = "Factory-Time"
	trailerChanges = "Factory-Changes"
	trailerSource  = "Factory-Source"
)

const snapshotIdent = "factory <factory@localhost>"

// encodeSnapshotCommit returns the body of the commit object for s.
func encodeSnapshotCommit(s factory.Snapshot, source string) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "tree %s\n", s.Tree)
	if s.Parent != "" {
		fmt.Fprintf(&b, "parent %s\n", s.Parent)
	}
	when := fmt.Sprintf("%d +0000", s.Created.Unix())
	fmt.Fprintf(&b, "author %s %s\ncommitter %s %s\n\n", snapshotIdent, when, snapshotIdent, when)
	if s.Label != "" {
		fmt.Fprintf(&b, "factory snapshot: %s\n\n", s.Label)
	} else {
		b.WriteString("factory snapshot\n\n")
	}
	if s.Label != "" {
		fmt.Fprintf(&b, "%s: %s\n", trailerLabel, s.Label)
	}
	if s.RunID != "" {
		fmt.Fprintf(&b, "%s: %s\n", trailerRun, oneLine(s.RunID))
	}
	if s.StepID != "" {
		fmt.Fprintf(&b, "%s: %s\n", trailerStep, oneLine(s.StepID))
	}
	fmt.Fprintf(&b, "%s: %s\n", trailerTime, s.Created.Format(time.RFC3339Nano))
	fmt.Fprintf(&b, "%s: added=%d modified=%d deleted=%d\n", trailerChanges, s.Changes.Added, s.Changes.Modified, s.Changes.Deleted)
	fmt.Fprintf(&b, "%s: %s\n", trailerSource, source)
	return b.Bytes()
}

func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
}

// decodeSnapshotCommit parses a snapshot commit body. ok is false when the
// commit is not one factory wrote.
func decodeSnapshotCommit(commit plumbing.Hash, b []byte) (factory.Snapshot, bool) {
	s := factory.Snapshot{Commit: commit.String()}
	hdr, msg, found := bytes.Cut(b, []byte("\n\n"))
	if !found {
		return s, false
	}
	for _, line := range strings.Split(string(hdr), "\n") {
		k, v, _ := strings.Cut(line, " ")
		switch k {
		case "tree":
			s.Tree = v
		case "parent":
			if s.Parent == "" {
				s.Parent = v
			}
		case "committer":
			if i := strings.LastIndexByte(v, '>'); i >= 0 {
				var sec int64
				if _, err := fmt.Sscanf(strings.TrimSpace(v[i+1:]), "%d", &sec); err == nil {
					s.Created = time.Unix(sec, 0).UTC()
				}
			}
		}
	}
	ours := false
	for _, line := range strings.Split(string(msg), "\n") {
		k, v, found := strings.Cut(line, ": ")
		if !found {
			continue
		}
		switch k {
		case trailerLabel:
			s.Label = v
		case trailerRun:
			s.RunID = v
		case trailerStep:
			s.StepID = v
		case trailerTime:
			if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
				s.Created = t.UTC()
				ours = true
			}
		case trailerChanges:
			fmt.Sscanf(v, "added=%d modified=%d deleted=%d", &s.Changes.Added, &s.Changes.Modified, &s.Changes.Deleted)
		}
	}
	return s, ours && s.Tree != ""
}

// createSnapshotRef picks a free id for commit c and creates its ref, the
// way git does (a .lock file created exclusively, then renamed). It never
// replaces an existing ref.
func (w *Workspace) createSnapshotRef(c plumbing.Hash) (string, error) {
	common := commonDirOf(w.gitDir)
	dir := filepath.Join(common, filepath.FromSlash(snapshotRefPrefix))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	packed := packedRefNames(common, snapshotRefPrefix)
	for range 5 {
		id := snapshotIDFor(c.String(), func(id string) bool {
			if packed[id] {
				return true
			}
			_, err := os.Lstat(filepath.Join(dir, id))
			if err == nil {
				return true
			}
			_, err = os.Lstat(filepath.Join(dir, id+".lock"))
			return err == nil
		})
		lock := filepath.Join(dir, id+".lock")
		f, err := os.OpenFile(lock, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if errors.Is(err, os.ErrExist) {
			continue // someone else is creating this id: pick again
		}
		if err != nil {
			return "", err
		}
		_, werr := f.WriteString(c.String() + "\n")
		cerr := f.Close()
		if werr != nil || cerr != nil {
			os.Remove(lock)
			return "", errors.Join(werr, cerr)
		}
		final := filepath.Join(dir, id)
		if _, err := os.Lstat(final); err == nil {
			os.Remove(lock)
			continue
		}
		if err := os.Rename(lock, final); err != nil {
			os.Remove(lock)
			return "", err
		}
		return id, nil
	}
	return "", errors.New("could not find a free snapshot id")
}

// packedRefNames returns the names (without prefix) of packed refs under
// prefix.
func packedRefNames(common, prefix string) map[string]bool {
	out := map[string]bool{}
	b, err := os.ReadFile(filepath.Join(common, "packed-refs"))
	if err != nil {
		return out
	}
	for _, line := range strings.Split(string(b), "\n") {
		if len(line) > 41 && line[40] == ' ' {
			if n, ok := strings.CutPrefix(line[41:], prefix); ok {
				out[n] = true
			}
		}
	}
	return out
}

// snapshotRefs lists every snapshot ref (loose and packed) as id -> commit.
func (w *Workspace) snapshotRefs() (map[string]plumbing.Hash, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	it, err := w.repo.Storer.IterReferences()
	if err != nil {
		return nil, err
	}
	out := map[string]plumbing.Hash{}
	err = it.ForEach(func(r *plumbing.Reference) error {
		if id, ok := strings.CutPrefix(r.Name().String(), snapshotRefPrefix); ok && r.Type() == plumbing.HashReference {
			out[id] = r.Hash()
		}
		return nil
	})
	if err != nil && !errors.Is(err, storer.ErrStop) {
		return nil, err
	}
	return out, nil
}

// snapshotMeta returns the parsed snapshot commit c.
func (w *Workspace) snapshotMeta(c plumbing.Hash) (factory.Snapshot, bool, error) {
	w.snap.metaMu.Lock()
	s, ok := w.snap.meta[c]
	w.snap.metaMu.Unlock()
	if ok {
		return s, true, nil
	}
	b, err := w.readObject(plumbing.CommitObject, c)
	if err != nil {
		return factory.Snapshot{}, false, err
	}
	s, ok = decodeSnapshotCommit(c, b)
	if !ok {
		return s, false, nil
	}
	w.snap.metaMu.Lock()
	if w.snap.meta == nil {
		w.snap.meta = make(map[plumbing.Hash]factory.Snapshot)
	}
	w.snap.meta[c] = s
	w.snap.metaMu.Unlock()
	return s, true, nil
}

// allSnapshots returns every snapshot, newest first.
func (w *Workspace) allSnapshots(ctx context.Context) ([]factory.Snapshot, error) {
	refs, err := w.snapshotRefs()
	if err != nil {
		return nil, err
	}
	out := make([]factory.Snapshot, 0, len(refs))
	for id, c := range refs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		s, ok, err := w.snapshotMeta(c)
		if err != nil {
			w.cfg.Logger.Warn("unreadable snapshot", "id", id, "err", err)
			continue
		}
		if !ok {
			continue
		}
		s.ID = id
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Created.Equal(out[j].Created) {
			return out[i].Created.After(out[j].Created)
		}
		return out[i].ID > out[j].ID
	})
	return out, nil
}

// latestLocked returns the newest snapshot, or nil. Caller holds snap.mu.
func (w *Workspace) latestLocked(ctx context.Context) *factory.Snapshot {
	if l := w.snap.latest; l != nil {
		common := commonDirOf(w.gitDir)
		if h, ok := resolveRef(w.gitDir, common, snapshotRefPrefix+l.ID, 0); ok && h.String() == l.Commit {
			return l
		}
		w.snap.latest = nil
	}
	all, err := w.allSnapshots(ctx)
	if err != nil || len(all) == 0 {
		return nil
	}
	w.snap.latest = &all[0]
	return w.snap.latest
}

// Snapshots lists snapshots newest first, filtered by f. It only reads.
// Errors: EINVALID for a negative limit; EINTERNAL when the refs cannot be
// read.
func (w *Workspace) Snapshots(ctx context.Context, f SnapshotFilter) ([]factory.Snapshot, error) {
	if f.Limit < 0 {
		return nil, factory.Errorf(factory.EINVALID, "limit %d is negative; use 0 for all, or a positive number", f.Limit)
	}
	all, err := w.allSnapshots(ctx)
	if err != nil {
		return nil, factory.Wrap("list snapshots", err)
	}
	out := all[:0]
	for _, s := range all {
		if (f.Label == "" || s.Label == f.Label) && (f.RunID == "" || s.RunID == f.RunID) {
			out = append(out, s)
			if f.Limit > 0 && len(out) == f.Limit {
				break
			}
		}
	}
	return out, nil
}

// Resolve returns the snapshot named by id ("s-3f9a2c", or its full ref
// name). Errors: EINVALID when id is empty, begins with '-', is not of the
// form of a snapshot id, or names something that is not a snapshot (a
// branch, a tag, a commit, a ref that does not point at a snapshot
// commit); ENOTFOUND when no snapshot has that id. Both messages say how to
// list the snapshots that exist.
func (w *Workspace) Resolve(ctx context.Context, id string) (factory.Snapshot, error) {
	if err := ctx.Err(); err != nil {
		return factory.Snapshot{}, factory.Wrap("resolve snapshot", err)
	}
	sid, err := parseSnapshotID(id)
	if err != nil {
		if what := w.describeNonSnapshot(strings.TrimSpace(id)); what != "" {
			return factory.Snapshot{}, factory.Errorf(factory.EINVALID,
				"%q is %s, not a snapshot; snapshot ids look like s-3f9a2c (list them with snapshot_list)", textdiff.Clip(id, 60), what)
		}
		return factory.Snapshot{}, err
	}
	c, ok := resolveRef(w.gitDir, commonDirOf(w.gitDir), snapshotRefPrefix+sid, 0)
	if !ok {
		if what := w.describeNonSnapshot(sid); what != "" {
			return factory.Snapshot{}, factory.Errorf(factory.EINVALID,
				"%q is %s, not a snapshot; list the snapshots with snapshot_list", sid, what)
		}
		return factory.Snapshot{}, factory.Errorf(factory.ENOTFOUND,
			"no snapshot %s in this workspace; list them with snapshot_list, or create one with snapshot_create", sid)
	}
	s, ok, err := w.snapshotMeta(c)
	if err != nil {
		return factory.Snapshot{}, factory.Wrap("resolve snapshot "+sid, err)
	}
	if !ok {
		return factory.Snapshot{}, factory.Errorf(factory.EINVALID,
			"%s points at a commit factory did not write, so it is not a snapshot; list the snapshots with snapshot_list", snapshotRefPrefix+sid)
	}
	s.ID = sid
	return s, nil
}

// describeNonSnapshot says what name is when it names a branch, tag, other
// ref or an object, and "" otherwise. It never runs git and never passes
// name anywhere but to file lookups confined to the git dir.
func (w *Workspace) describeNonSnapshot(name string) string {
	if name == "" || strings.HasPrefix(name, "-") || strings.Contains(name, "..") || strings.ContainsAny(name, "\x00\\") {
		return ""
	}
	common := commonDirOf(w.gitDir)
	if name == "HEAD" {
		return "git's HEAD"
	}
	for _, c := range []struct{ prefix, what string }{
		{"refs/heads/", "a branch"}, {"refs/tags/", "a tag"}, {"refs/remotes/", "a remote branch"}, {"", "a git ref"},
	} {
		if strings.HasPrefix(name, "refs/") && c.prefix != "" {
			continue
		}
		if _, ok := resolveRef(w.gitDir, common, c.prefix+name, 0); ok && (c.prefix != "" || strings.HasPrefix(name, "refs/")) {
			return c.what
		}
	}
	if len(name) >= 4 && len(name) <= 40 && isHex(name) {
		w.mu.Lock()
		defer w.mu.Unlock()
		if len(name) == 40 {
			if w.repo.Storer.HasEncodedObject(plumbing.NewHash(name)) == nil {
				return "a git object id"
			}
		} else if hs, ok := w.repo.Storer.(interface {
			HashesWithPrefix([]byte) ([]plumbing.Hash, error)
		}); ok && len(name)%2 == 0 {
			var p []byte
			fmt.Sscanf(name, "%x", &p)
			if l, err := hs.HashesWithPrefix(p); err == nil && len(l) > 0 {
				return "a git object id"
			}
		}
	}
	return ""
}

// TreeOf returns the tree id of snapshot id, for cheap comparisons of
// states. Errors as for Resolve.
func (w *Workspace) TreeOf(ctx context.Context, id string) (string, error) {
	s, err := w.Resolve(ctx, id)
	if err != nil {
		return "", err
	}
	return s.Tree, nil
}
