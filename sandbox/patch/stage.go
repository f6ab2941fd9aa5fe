package patch

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"slices"
	"sort"
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
	swapped   bool      // committed by exchange: the old file is under tmp until discarded
	held      *heldFile // tmp is the old file of another write, rewritten and held open until the swap (reuse.go)
	untimed   bool      // made carries no times: the undo compares content
}

// stageAll groups the writes by directory (see chains) and stages, in
// parallel, the first write of each group and every write that cannot
// take a used file (a symlink, a new file, no exchange): the others are
// staged by commitGroup in the file the previous swap of their group took
// out. Creating a file costs more than anything else a write does (ext4
// scans past every inode freed recently), so a group of k changed files
// creates one file instead of k. On error it still returns what it
// staged, for the caller to discard.
func (t *tree) stageAll(writes []*node) ([][]*staged, error) {
	var dirs [][]*node
	at := map[string]int{}
	for _, n := range writes {
		d := path.Dir(n.path)
		i, ok := at[d]
		if !ok {
			i = len(dirs)
			at[d] = i
			dirs = append(dirs, nil)
		}
		dirs[i] = append(dirs[i], n)
	}
	var groups [][]*staged
	var eager []*staged
	for _, d := range dirs {
		slices.SortStableFunc(d, func(a, b *node) int { return cmp.Compare(len(a.data), len(b.data)) })
		for _, c := range chains(d, len(writes)) {
			c = byFit(c)
			g := make([]*staged, len(c))
			for i, n := range c {
				g[i] = &staged{t: t, n: n}
				if i == 0 || !g[i].reusable() {
					eager = append(eager, g[i])
				}
			}
			groups = append(groups, g)
		}
	}
	err := parallelErr(len(eager), func(i int) error { return eager[i].stage() })
	return groups, err
}

// chains splits the writes of one directory into groups swapped in one
// after the other, each starting with a new file: one group, unless the
// directory holds a large share of a large patch (up to parallelism
// groups of at least minChain writes when it holds them all), so a patch
// of one big directory still runs in parallel.
func chains(dir []*node, total int) [][]*node {
	k := max(1, min(parallelism*len(dir)/max(total, 1), len(dir)/minChain))
	out := make([][]*node, k)
	for i, n := range dir {
		out[i%k] = append(out[i%k], n)
	}
	return out
}

// byFit orders a chain, sorted by new size, so that the old file each
// write takes out is rarely longer than the next write's content: that
// one is staged in it, and cutting a file shorter costs a journalled
// orphan entry and a block release, as dear as the write. From the
// smallest, each next write is the smallest whose content covers the old
// file just taken out, else the smallest left: none is cut when a patch
// only grows its files; when it only shrinks them, one in ten or so (one
// in two in size order).
func byFit(c []*node) []*node {
	free := make([]int, len(c)+1) // free[i] leads to the first unused index from i on
	for i := range free {
		free[i] = i
	}
	find := func(i int) int {
		for free[i] != i {
			free[i], i = free[free[i]], free[free[i]]
		}
		return i
	}
	out := make([]*node, 0, len(c))
	for i := 0; len(out) < len(c); {
		if i = find(i); i == len(c) {
			i = find(0)
		}
		out = append(out, c[i])
		free[i] = i + 1
		var old int64
		if o := c[i].origInfo; o != nil && c[i].origExists && !c[i].origLink {
			old = o.Size()
		}
		i = sort.Search(len(c), func(j int) bool { return int64(len(c[j].data)) >= old })
	}
	return out
}

// minChain is the fewest writes a directory's group is split down to.
const minChain = 8

// reusable reports whether s may be staged in the old file of another
// write: both are regular files and the swap exchanges.
func (s *staged) reusable() bool {
	return s.n.origExists && !s.n.origLink && !s.n.link && s.t.exchanges()
}

// stage writes s's new content into a new file beside its target.
func (s *staged) stage() error {
	if err := s.open(); err != nil {
		return err
	}
	tmp, made, err := writeTemp(s.dir, s.n.data, s.n.link, s.n.perm, s.n.exactPerm)
	if err != nil {
		return fmt.Errorf("write %s: %w", s.n.path, err)
	}
	s.tmp, s.made = tmp, made
	return nil
}

// open finds the directory of s's file.
func (s *staged) open() error {
	if s.dir != nil {
		return nil
	}
	dr, base, err := s.t.in(s.n.path)
	if err != nil {
		return s.t.resolveError(s.n.path, err)
	}
	s.dir, s.base = dr, base
	return nil
}

// restage stages s in the old file prev's exchange took out, when that
// file may be reused (see reuse), else in a new file. prev's old content
// is then gone: its undo writes it anew.
func (s *staged) restage(prev *staged) error {
	if err := s.open(); err != nil {
		return err
	}
	if prev == nil || !prev.swapped || prev.n.origLink || !s.reusable() {
		return s.stage()
	}
	if s.t.opt.beforeReuse != nil {
		s.t.opt.beforeReuse(s.n.path, prev.tmp)
	}
	dir, err := s.t.dirFile(path.Dir(s.n.path))
	if err != nil {
		return s.t.resolveError(s.n.path, err)
	}
	h, size, err := reuse(dir, prev.tmp, prev.n.origInfo, s.t.owner)
	if err != nil {
		return s.stage()
	}
	// From the first byte written, the old file is no longer there to
	// swap back.
	prev.swapped = false
	s.tmp, prev.tmp, s.held = prev.tmp, "", h
	if err := h.rewrite(size, s.n.data, s.n.perm, s.n.exactPerm); err != nil {
		return fmt.Errorf("write %s: %w", s.n.path, err)
	}
	s.made, s.untimed = h.made, true
	return nil
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
	defer s.released()
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
	same := err == nil && sameFile(info, s.made) && info.Size() == s.made.Size()
	if same && s.untimed {
		data, err := s.t.readRegular(s.dir, s.n.path, info.Size())
		same = err == nil && bytes.Equal(data, s.n.data)
	} else if same {
		same = info.ModTime().Equal(s.made.ModTime())
	}
	if !same {
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
	s.released()
	if s.tmp != "" {
		_ = s.dir.Remove(s.tmp)
		s.tmp = ""
	}
}
