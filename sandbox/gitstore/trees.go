package gitstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/factory-dev/factory"
	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/storer"
)

// ErrTooManyChanges stops a DiffTrees given a limit.
var ErrTooManyChanges = errors.New("the trees differ in too many files")

// Change is one path whose non-tree entry differs between two trees. From
// or To is nil when the path has no such entry on that side.
type Change struct {
	Path     string
	From, To *Entry
}

// IsFile reports whether e is a regular file (either exec bit).
func (e *Entry) IsFile() bool {
	return e.Mode == filemode.Regular || e.Mode == filemode.Executable || e.Mode == filemode.Deprecated
}

// DiffTrees lists the paths whose entries differ between trees a and b,
// sorted by path. It descends only into subtrees whose hashes differ, so
// comparing two large trees that differ in ten files reads a handful of
// tree objects. A zero hash is the empty tree. With limit > 0 it stops
// with ErrTooManyChanges once more than limit paths differ. A path that
// changes between file and directory is the file's change plus the
// directory's files.
func (s *Store) DiffTrees(ctx context.Context, a, b plumbing.Hash, limit int) ([]Change, error) {
	d := treeDiff{s: s, ctx: ctx, limit: limit}
	if err := d.walk(a, b, ""); err != nil {
		return nil, err
	}
	sort.Slice(d.out, func(i, j int) bool { return d.out[i].Path < d.out[j].Path })
	return d.out, nil
}

// Count sums changes up as files added, modified and deleted.
func Count(changes []Change) factory.Changes {
	var c factory.Changes
	for _, ch := range changes {
		switch {
		case ch.From == nil:
			c.Added++
		case ch.To == nil:
			c.Deleted++
		default:
			c.Modified++
		}
	}
	return c
}

// treeDiff is one DiffTrees walk.
type treeDiff struct {
	s     *Store
	ctx   context.Context
	limit int
	out   []Change
}

func (d *treeDiff) level(h plumbing.Hash) (map[string]Entry, error) {
	es, err := d.s.ReadTree(h)
	if err != nil {
		return nil, err
	}
	m := make(map[string]Entry, len(es))
	for _, e := range es {
		m[e.Name] = e
	}
	return m, nil
}

func (d *treeDiff) walk(a, b plumbing.Hash, prefix string) error {
	if a == b {
		return nil
	}
	if err := d.ctx.Err(); err != nil {
		return err
	}
	la, err := d.level(a)
	if err != nil {
		return err
	}
	lb, err := d.level(b)
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
	for _, n := range names {
		ea, inA := la[n]
		eb, inB := lb[n]
		if inA && inB && ea == eb {
			continue
		}
		ta, fa := split(ea, inA)
		tb, fb := split(eb, inB)
		if fa != nil || fb != nil {
			d.out = append(d.out, Change{Path: prefix + n, From: fa, To: fb})
			if d.limit > 0 && len(d.out) > d.limit {
				return ErrTooManyChanges
			}
		}
		if !ta.IsZero() || !tb.IsZero() {
			if err := d.walk(ta, tb, prefix+n+"/"); err != nil {
				return err
			}
		}
	}
	return nil
}

// split returns e's subtree, or e itself when it is not a tree.
func split(e Entry, ok bool) (plumbing.Hash, *Entry) {
	switch {
	case !ok:
		return plumbing.ZeroHash, nil
	case e.Mode == modeTree:
		return e.Hash, nil
	}
	return plumbing.ZeroHash, &e
}

// FlatTree returns every non-tree entry of tree h by slash-separated path
// (each Entry's Name is its base name).
func (s *Store) FlatTree(ctx context.Context, h plumbing.Hash) (map[string]Entry, error) {
	out := make(map[string]Entry)
	var walk func(h plumbing.Hash, prefix string) error
	walk = func(h plumbing.Hash, prefix string) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		es, err := s.ReadTree(h)
		if err != nil {
			return err
		}
		for _, e := range es {
			p := prefix + e.Name
			if e.Mode == modeTree {
				if err := walk(e.Hash, p+"/"); err != nil {
					return err
				}
				continue
			}
			out[p] = e
		}
		return nil
	}
	if err := walk(h, ""); err != nil {
		return nil, err
	}
	return out, nil
}

// ReadBlob returns the content of blob h (reloading go-git's pack indexes
// and trying again after a failure, as ReadObject does).
func (s *Store) ReadBlob(h plumbing.Hash) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, err := readBlobFrom(s.repo.Storer, h)
	if err != nil && s.reindexLocked() {
		b, err = readBlobFrom(s.repo.Storer, h)
	}
	return b, err
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

// ReadBlobs reads many blobs in parallel, calling fn for each (from several
// goroutines at once). go-git's storage is not safe for concurrent use, so
// each worker opens its own read-only handle on the same object store;
// reads do not race with the capture engine's writes (objects are written
// to a temp name and renamed into place).
func (s *Store) ReadBlobs(ctx context.Context, hashes []plumbing.Hash, fn func(h plumbing.Hash, b []byte) error) error {
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
			st, err := s.readerStorer()
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
func (s *Store) readerStorer() (storer.EncodedObjectStorer, error) {
	r, err := git.PlainOpenWithOptions(s.cfg.Root, &git.PlainOpenOptions{EnableDotGitCommonDir: true})
	if err != nil {
		return nil, fmt.Errorf("open object store: %w", err)
	}
	return r.Storer, nil
}

// Lookup returns the entry at slash-separated path p in tree h, or nil
// when there is none (a component missing or not a directory).
func (s *Store) Lookup(h plumbing.Hash, p string) (*Entry, error) {
	parts := strings.Split(strings.Trim(p, "/"), "/")
	for i, name := range parts {
		es, err := s.ReadTree(h)
		if err != nil {
			return nil, err
		}
		k := slices.IndexFunc(es, func(e Entry) bool { return e.Name == name })
		switch {
		case k < 0:
			return nil, nil
		case i == len(parts)-1:
			e := es[k]
			return &e, nil
		case es[k].Mode != modeTree:
			return nil, nil
		}
		h = es[k].Hash
	}
	return nil, nil
}
