package sandbox

import (
	"context"
	"fmt"
	"io"
	"path"
	"runtime"
	"sort"
	"strings"
	"sync"

	"github.com/factory-dev/factory"
	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"
)

// snapshotRefPrefix is where snapshots live in the workspace's object store.
const snapshotRefPrefix = "refs/factory/snapshots/"

// emptyTree is the id of the tree with no entries, which git knows without
// storing it.
var emptyTree = plumbing.NewHash("4b825dc642cb6eb9a060e54bf8d69288fbee4904")

// treeEntry is one non-tree entry of a flattened git tree: a regular file,
// an executable, a symlink or a gitlink.
type treeEntry struct {
	Mode filemode.FileMode
	Hash plumbing.Hash
}

func (e treeEntry) isFile() bool {
	return e.Mode == filemode.Regular || e.Mode == filemode.Executable || e.Mode == filemode.Deprecated
}

// treeChange is one path whose entry differs between two trees. From or To
// is nil when the path is absent on that side.
type treeChange struct {
	Path     string
	From, To *treeEntry
}

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

// treeLevel reads one tree object and returns its entries by name. Caller
// holds w.mu.
func (w *Workspace) treeLevel(h plumbing.Hash) (map[string]object.TreeEntry, error) {
	if h.IsZero() || h == emptyTree {
		return nil, nil
	}
	t, err := object.GetTree(w.repo.Storer, h)
	if err != nil {
		return nil, fmt.Errorf("read tree %s: %w", h, err)
	}
	m := make(map[string]object.TreeEntry, len(t.Entries))
	for _, e := range t.Entries {
		m[e.Name] = e
	}
	return m, nil
}

// flatTree returns every non-tree entry of tree h by slash-separated path.
func (w *Workspace) flatTree(ctx context.Context, h plumbing.Hash) (map[string]treeEntry, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make(map[string]treeEntry)
	var walk func(h plumbing.Hash, prefix string) error
	walk = func(h plumbing.Hash, prefix string) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		t, err := object.GetTree(w.repo.Storer, h)
		if err != nil {
			return fmt.Errorf("read tree %s: %w", h, err)
		}
		for _, e := range t.Entries {
			p := prefix + e.Name
			if e.Mode == filemode.Dir {
				if err := walk(e.Hash, p+"/"); err != nil {
					return err
				}
				continue
			}
			out[p] = treeEntry{Mode: e.Mode, Hash: e.Hash}
		}
		return nil
	}
	if h.IsZero() || h == emptyTree {
		return out, nil
	}
	if err := walk(h, ""); err != nil {
		return nil, err
	}
	return out, nil
}

// diffTrees lists the paths whose entries differ between trees a and b,
// sorted by path. It descends only into subtrees whose hashes differ, so
// comparing two large trees that differ in ten files reads a handful of
// tree objects. A zero hash is the empty tree.
func (w *Workspace) diffTrees(ctx context.Context, a, b plumbing.Hash) ([]treeChange, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []treeChange
	var walk func(a, b plumbing.Hash, prefix string) error
	walk = func(a, b plumbing.Hash, prefix string) error {
		if a == b {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		la, err := w.treeLevel(a)
		if err != nil {
			return err
		}
		lb, err := w.treeLevel(b)
		if err != nil {
			return err
		}
		names := make([]string, 0, len(la)+len(lb))
		for n := range la {
			names = append(names, n)
		}
		for n := range lb {
			if _, ok := la[n]; !ok {
				names = append(names, n)
			}
		}
		sort.Strings(names)
		for _, n := range names {
			ea, inA := la[n]
			eb, inB := lb[n]
			if inA && inB && ea.Mode == eb.Mode && ea.Hash == eb.Hash {
				continue
			}
			p := prefix + n
			var ta, tb plumbing.Hash // subtrees on each side, if any
			var fa, fb *treeEntry    // files on each side, if any
			if inA {
				if ea.Mode == filemode.Dir {
					ta = ea.Hash
				} else {
					fa = &treeEntry{Mode: ea.Mode, Hash: ea.Hash}
				}
			}
			if inB {
				if eb.Mode == filemode.Dir {
					tb = eb.Hash
				} else {
					fb = &treeEntry{Mode: eb.Mode, Hash: eb.Hash}
				}
			}
			if fa != nil || fb != nil {
				out = append(out, treeChange{Path: p, From: fa, To: fb})
			}
			if !ta.IsZero() || !tb.IsZero() {
				if err := walk(ta, tb, p+"/"); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if err := walk(a, b, ""); err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

// readBlob returns the content of blob h.
func (w *Workspace) readBlob(h plumbing.Hash) ([]byte, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return readBlobFrom(w.repo.Storer, h)
}

func readBlobFrom(s storer.EncodedObjectStorer, h plumbing.Hash) ([]byte, error) {
	o, err := s.EncodedObject(plumbing.BlobObject, h)
	if err != nil {
		return nil, fmt.Errorf("read blob %s: %w", h, err)
	}
	r, err := o.Reader()
	if err != nil {
		return nil, fmt.Errorf("read blob %s: %w", h, err)
	}
	defer r.Close()
	buf := make([]byte, 0, o.Size())
	b, err := readAllInto(r, buf)
	if err != nil {
		return nil, fmt.Errorf("read blob %s: %w", h, err)
	}
	return b, nil
}

func readAllInto(r io.Reader, b []byte) ([]byte, error) {
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
	}
}

// readBlobs reads many blobs in parallel, calling fn for each (from several
// goroutines at once). go-git's storage is not safe for concurrent use, so
// each worker opens its own read-only handle on the same object store;
// reads do not race with the capture engine's writes (objects are written
// to a temp name and renamed into place).
func (w *Workspace) readBlobs(ctx context.Context, hashes []plumbing.Hash, fn func(h plumbing.Hash, b []byte) error) error {
	if len(hashes) == 0 {
		return nil
	}
	workers := runtime.GOMAXPROCS(0) * 2
	if workers > 8 {
		workers = 8
	}
	if len(hashes) < 64 {
		workers = 1
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg       sync.WaitGroup
		errOnce  sync.Once
		firstErr error
		next     = make(chan plumbing.Hash, 256)
	)
	fail := func(err error) {
		errOnce.Do(func() { firstErr = err; cancel() })
	}
	for i := 0; i < workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st, err := w.readerStorer()
			if err != nil {
				fail(err)
				return
			}
			for h := range next {
				if ctx.Err() != nil {
					continue
				}
				b, err := readBlobFrom(st, h)
				if err == nil {
					err = fn(h, b)
				}
				if err != nil {
					fail(err)
				}
			}
		}()
	}
feed:
	for _, h := range hashes {
		select {
		case next <- h:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	return ctx.Err()
}

// readerStorer opens a fresh handle on the workspace's object store for one
// goroutine's exclusive use.
func (w *Workspace) readerStorer() (storer.EncodedObjectStorer, error) {
	r, err := git.PlainOpenWithOptions(w.root, &git.PlainOpenOptions{EnableDotGitCommonDir: true})
	if err != nil {
		return nil, fmt.Errorf("open object store: %w", err)
	}
	return r.Storer, nil
}

// checkRelPath validates a user-supplied workspace-relative path: not
// empty, not absolute, no "..", no ".git" component, no leading '-'. It
// returns the cleaned slash form.
func checkRelPath(p string) (string, error) {
	bad := func(why string) (string, error) {
		return "", factory.Errorf(factory.EINVALID, "path %q %s; give a path relative to the workspace root, like src/main.go", p, why)
	}
	if p == "" {
		return bad("is empty")
	}
	if strings.HasPrefix(p, "-") {
		return bad("begins with '-'")
	}
	if strings.HasPrefix(p, "/") || strings.HasPrefix(p, "\\") {
		return bad("is absolute")
	}
	if strings.ContainsRune(p, 0) {
		return bad("contains a NUL byte")
	}
	for _, c := range strings.Split(p, "/") {
		if c == ".." {
			return bad("leaves the workspace root")
		}
		if strings.EqualFold(c, ".git") {
			return bad("is inside .git")
		}
	}
	c := path.Clean(p)
	if c == "." {
		return "", nil // the whole tree
	}
	return c, nil
}

// underAny reports whether p is one of roots or inside one of them. An
// empty root ("") matches everything.
func underAny(p string, roots []string) bool {
	for _, r := range roots {
		if r == "" || p == r || strings.HasPrefix(p, r+"/") {
			return true
		}
	}
	return false
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
