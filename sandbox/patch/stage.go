package patch

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"slices"
)

// errNoExchange says the file system or kernel cannot exchange two names.
var errNoExchange = errors.New("exchange not supported")

// staged is one write prepared next to its file: the new content under a
// temporary name, swapped in (exchanged, or renamed over it) once the old
// file is checked to be the one the patch read.
//
// A program that holds the old file open and writes to it after the swap
// writes to a file no longer in the tree; the checks right before the
// swap are the last point where that write can be seen.
type staged struct {
	t         *tree
	n         *node
	dir       *os.Root
	base      string
	tmp       string      // the new content, until committed; then the old file if swapped
	made      fs.FileInfo // the new file as written, to tell a later change
	committed bool
	swapped   bool // committed by exchange: the old file is under tmp until discarded
}

// stageAll stages every write, in parallel. On error it still returns what
// it staged, for the caller to discard.
func (t *tree) stageAll(writes []*node) ([]*staged, error) {
	all := make([]*staged, len(writes))
	writes = spread(writes)
	err := parallelErr(len(writes), func(i int) error {
		var err error
		all[i], err = t.stage(writes[i])
		return err
	})
	var out []*staged
	for _, s := range all {
		if s != nil {
			out = append(out, s)
		}
	}
	return out, err
}

// spread orders nodes so that neighbours lie in different directories:
// the first file of every directory, then the second of every one... A
// directory takes one creation or rename at a time, so workers given files
// of the same directory would wait for each other.
func spread(nodes []*node) []*node {
	rank := make(map[*node]int, len(nodes))
	seen := map[string]int{}
	for _, n := range nodes {
		d := path.Dir(n.path)
		rank[n] = seen[d]
		seen[d]++
	}
	out := slices.Clone(nodes)
	slices.SortStableFunc(out, func(a, b *node) int { return rank[a] - rank[b] })
	return out
}

func (t *tree) stage(n *node) (*staged, error) {
	dr, base, err := t.in(n.path)
	if err != nil {
		return nil, t.resolveError(n.path, err)
	}
	tmp, made, err := writeTemp(dr, n.data, n.link, n.perm, n.exactPerm)
	if err != nil {
		return nil, fmt.Errorf("write %s: %w", n.path, err)
	}
	return &staged{t: t, n: n, dir: dr, base: base, tmp: tmp, made: made}, nil
}

// check verifies that the old file is still the one read (content
// included when its time cannot tell), or that a new file's place is
// still free.
func (s *staged) check(c checks) error {
	if !s.n.origExists {
		if _, err := s.dir.Lstat(s.base); !errors.Is(err, fs.ErrNotExist) {
			return changedError(s.n.path, "it was created on disk meanwhile")
		}
		return nil
	}
	return s.t.unchanged(s.n, s.dir, s.base, c)
}

// commit checks the old file once more, as late as possible, and swaps
// the new file in: by an exchange where the file system can (then the old
// file, now under tmp, is checked again, its content too if recently
// modified, and swapped back if it changed), else by a rename.
func (s *staged) commit() error {
	if s.t.opt.beforeSwap != nil {
		if err := s.t.opt.beforeSwap(s.n.path); err != nil {
			return err
		}
	}
	if !s.n.origExists {
		err := placeNew(s.dir, s.tmp, s.base, s.n.path)
		s.tmp = "" // placed, or removed by placeNew
		if err != nil {
			return err
		}
		s.committed = true
		return nil
	}
	// The last check of the name before the swap.
	if err := s.check(checkCtime); err != nil {
		return err
	}
	if s.t.exchanges() {
		err := s.exchange()
		if !errors.Is(err, errNoExchange) {
			return err
		}
		s.t.noExchange.Store(true)
	}
	if err := s.dir.Rename(s.tmp, s.base); err != nil {
		return fmt.Errorf("write %s: %w", s.n.path, err)
	}
	s.tmp = ""
	s.committed = true
	return nil
}

// exchange swaps the new file in and checks, as late as can be, that the
// file it took out is the one the patch read; if not, it swaps it back.
func (s *staged) exchange() error {
	dir, err := s.t.dirFile(path.Dir(s.n.path))
	if err != nil {
		return s.t.resolveError(s.n.path, err)
	}
	if s.t.opt.beforeExchange != nil {
		s.t.opt.beforeExchange(s.n.path)
	}
	if err := exchange(dir, s.tmp, s.base); err != nil {
		if errors.Is(err, errNoExchange) {
			return err
		}
		return s.t.changedOr(s.n, fmt.Errorf("write %s: %w", s.n.path, err))
	}
	if err := s.t.unchanged(s.n, s.dir, s.tmp, checkContent); err != nil {
		if berr := exchange(dir, s.tmp, s.base); berr != nil {
			return fmt.Errorf("%v, and swapping it back failed (%v): it is at %s", err, berr, path.Join(path.Dir(s.n.path), s.tmp))
		}
		return err
	}
	s.swapped, s.committed = true, true
	return nil
}

// undo puts back what the file was, unless the file the patch wrote was
// itself changed since: that change would be lost, so it stays.
func (s *staged) undo() error {
	info, err := s.dir.Lstat(s.base)
	if err != nil || !os.SameFile(info, s.made) || info.Size() != s.made.Size() || !info.ModTime().Equal(s.made.ModTime()) {
		return fmt.Errorf("%s changed on disk after the patch wrote it, so it was left as it is", s.n.path)
	}
	n := s.n
	if !n.origExists {
		return s.dir.Remove(s.base)
	}
	if s.swapped {
		// The old file itself goes back, its inode and times included.
		dir, err := s.t.dirFile(path.Dir(n.path))
		if err == nil {
			err = exchange(dir, s.tmp, s.base)
		}
		if err != nil {
			return fmt.Errorf("restore %s: %w", n.path, err)
		}
		s.swapped = false
		return nil
	}
	tmp, _, err := writeTemp(s.dir, n.origData, n.origLink, n.origPerm, true)
	if err == nil && !n.origLink {
		err = s.dir.Chtimes(tmp, n.origInfo.ModTime(), n.origInfo.ModTime())
	}
	if err == nil {
		err = s.dir.Rename(tmp, s.base)
	}
	if err != nil {
		_ = s.dir.Remove(tmp)
		return fmt.Errorf("restore %s: %w", n.path, err)
	}
	return nil
}

// discard removes the temporary file: the new content of a write not
// swapped in, or the old file a swap took out.
func (s *staged) discard() {
	if s.tmp != "" {
		_ = s.dir.Remove(s.tmp)
		s.tmp = ""
	}
}
