package sandbox

// Snapshots: capture of the live tree (or any directory) as a commit under
// refs/factory/snapshots/<id>, listing, resolution. Restore and diff live in
// restore*.go and diff*.go.

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
	"github.com/factory-dev/factory/sandbox/gitstore"
	"github.com/factory-dev/factory/sandbox/gitstore/gitdir"
	"github.com/factory-dev/factory/sandbox/textdiff"
	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/storer"
)

// SnapshotFilter selects snapshots for Snapshots. Zero fields select all.
type SnapshotFilter struct {
	Label string // only snapshots with exactly this label
	RunID string // only snapshots created by this run
	Limit int    // at most this many (newest first); 0 means no limit
}

// snapState is the snapshot engine's memory across calls on one
// Workspace. Everything in it is a cache: losing it costs time, not
// correctness.
type snapState struct {
	mu     sync.Mutex        // serialises captures, ref creation and deletion
	latest *factory.Snapshot // newest snapshot this process knows of

	metaMu sync.Mutex
	meta   map[plumbing.Hash]factory.Snapshot // parsed snapshot commits (ID unset)
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
	return w.snapshot(ctx, w.root, nil, label, "live")
}

// snapshot captures dir (the live tree, or a copy: ov says which overlay
// it is, if it is one) as a snapshot whose parent is HEAD. source is
// recorded in the commit (live, dir).
func (w *Workspace) snapshot(ctx context.Context, dir string, ov *gitstore.Overlay, label, source string) (factory.Snapshot, error) {
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

	head, hasHead := w.store.Head()
	tree, err := w.capture(ctx, dir, ov)
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
		if headTree, err = w.store.CommitTree(head); err != nil {
			return factory.Snapshot{}, factory.Wrap("snapshot: read HEAD", err)
		}
	}
	diff, err := w.store.DiffTrees(ctx, headTree, tree, 0)
	changes := gitstore.Count(diff)
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
	ch, err := w.store.WriteObject(plumbing.CommitObject, body)
	if err != nil {
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
	common := gitdir.CommonDir(w.gitDir)
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
// A name that is not a snapshot id is not one: go-git lists the
// "s-….lock" file of a snapshot another process is creating
// (createSnapshotRef) as a ref.
func (w *Workspace) snapshotRefs() (map[string]plumbing.Hash, error) {
	out := map[string]plumbing.Hash{}
	err := w.store.WithRepo(func(repo *git.Repository) error {
		it, err := repo.Storer.IterReferences()
		if err != nil {
			return err
		}
		return it.ForEach(func(r *plumbing.Reference) error {
			if id, ok := strings.CutPrefix(r.Name().String(), snapshotRefPrefix); ok && r.Type() == plumbing.HashReference && validSnapshotID(id) {
				out[id] = r.Hash()
			}
			return nil
		})
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
	b, err := w.store.ReadObject(plumbing.CommitObject, c)
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
		common := gitdir.CommonDir(w.gitDir)
		if h, ok := gitdir.ResolveRef(w.gitDir, common, snapshotRefPrefix+l.ID, 0); ok && h.String() == l.Commit {
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
	c, ok := gitdir.ResolveRef(w.gitDir, gitdir.CommonDir(w.gitDir), snapshotRefPrefix+sid, 0)
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
	common := gitdir.CommonDir(w.gitDir)
	if name == "HEAD" {
		return "git's HEAD"
	}
	for _, c := range []struct{ prefix, what string }{
		{"refs/heads/", "a branch"}, {"refs/tags/", "a tag"}, {"refs/remotes/", "a remote branch"}, {"", "a git ref"},
	} {
		if strings.HasPrefix(name, "refs/") && c.prefix != "" {
			continue
		}
		if _, ok := gitdir.ResolveRef(w.gitDir, common, c.prefix+name, 0); ok && (c.prefix != "" || strings.HasPrefix(name, "refs/")) {
			return c.what
		}
	}
	if len(name) >= 4 && len(name) <= 40 && isHex(name) && w.objectNamed(name) {
		return "a git object id"
	}
	return ""
}

// objectNamed reports whether name (4 to 40 hex digits) is an object id or
// an unambiguous prefix of one.
func (w *Workspace) objectNamed(name string) bool {
	found := false
	w.store.WithRepo(func(repo *git.Repository) error {
		if len(name) == 40 {
			found = repo.Storer.HasEncodedObject(plumbing.NewHash(name)) == nil
		} else if hs, ok := repo.Storer.(interface {
			HashesWithPrefix([]byte) ([]plumbing.Hash, error)
		}); ok && len(name)%2 == 0 {
			var p []byte
			fmt.Sscanf(name, "%x", &p)
			l, err := hs.HashesWithPrefix(p)
			found = err == nil && len(l) > 0
		}
		return nil
	})
	return found
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

// capture returns the tree of dir, through the overlay shortcut when dir is
// the overlay ov (nil otherwise).
func (w *Workspace) capture(ctx context.Context, dir string, ov *gitstore.Overlay) (plumbing.Hash, error) {
	if ov != nil && !w.noFastOverlay {
		if h, ok := w.store.CaptureOverlay(ctx, ov); ok {
			return h, nil
		}
	}
	return w.store.Capture(ctx, dir)
}

// snapshotRefPrefix is where snapshots live in the workspace's object store.
const snapshotRefPrefix = "refs/factory/snapshots/"

// snapTree resolves a snapshot id to its commit and tree, with Resolve's
// error contract (EINVALID for a malformed id or one naming another git
// object, ENOTFOUND for an unknown one).
func (w *Workspace) snapTree(ctx context.Context, id string) (commit, tree plumbing.Hash, err error) {
	s, err := w.Resolve(ctx, id)
	if err != nil {
		return plumbing.ZeroHash, plumbing.ZeroHash, err
	}
	return plumbing.NewHash(s.Commit), plumbing.NewHash(s.Tree), nil
}

// captureLive snapshots the live tree with label and returns the snapshot's
// id and tree.
func (w *Workspace) captureLive(ctx context.Context, label string) (string, plumbing.Hash, error) {
	s, err := w.Snapshot(ctx, label)
	if err != nil {
		return "", plumbing.ZeroHash, err
	}
	return s.ID, plumbing.NewHash(s.Tree), nil
}
