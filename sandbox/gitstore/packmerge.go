package gitstore

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/go-git/go-billy/v5/osfs"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/format/idxfile"
	"github.com/go-git/go-git/v5/plumbing/format/packfile"
)

// This file keeps the small packs of snapshots from piling up: git reads
// every .idx of the pack directory, so each pack costs every reader a
// little. When more than mergePacksAbove small packs are there, their
// objects are written into one new pack, which is renamed in (pack, then
// idx) before the old packs are deleted (pack, then idx: a reader never
// lists a .pack without its .idx). Every object stays reachable
// throughout: in the old packs until the new one is in place, in the new
// one after. A reader that loaded the old index retries after a miss
// (git re-reads the pack directory; Store.ReadObject reindexes).
//
// `git repack` would do this too, but it runs with the repository's own
// configuration and hooks; packs are merged here instead. Packs with a
// sidecar other than the .idx (.keep, .promisor, .mtimes of a cruft pack,
// .bitmap, .rev) are left to git.

// mergePacksAbove is how many small packs may pile up before they are
// merged.
const mergePacksAbove = 32

// smallPack is the size up to which a pack counts as small (a snapshot's
// pack after a few edits is a few KiB).
const smallPack = 1 << 20

// smallPacks lists the bases ("pack-<id>") of the small packs in dir that
// have an .idx and no other sidecar, largest first.
func smallPacks(dir string) ([]string, error) {
	names, err := readDirNames(dir)
	if err != nil {
		return nil, err
	}
	hasIdx, hasOther := map[string]bool{}, map[string]bool{}
	for _, n := range names {
		base, ext, _ := strings.Cut(n, ".")
		switch ext {
		case "pack":
		case "idx":
			hasIdx[base] = true
		default:
			hasOther[base] = true
		}
	}
	type sized struct {
		base string
		size int64
	}
	var out []sized
	for _, n := range names {
		base, ok := strings.CutSuffix(n, ".pack")
		if !ok || !strings.HasPrefix(base, "pack-") || !hasIdx[base] || hasOther[base] {
			continue
		}
		if fi, err := os.Stat(filepath.Join(dir, n)); err == nil && fi.Size() <= smallPack {
			out = append(out, sized{base, fi.Size()})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].size > out[j].size })
	bases := make([]string, len(out))
	for i, o := range out {
		bases[i] = o.base
	}
	return bases, nil
}

// mergeSmallPacks merges the small packs of the object store when there
// are more than mergePacksAbove, and reports whether it did.
func (s *objectStore) mergeSmallPacks() (bool, error) {
	dir := filepath.Join(s.dir, "pack")
	bases, err := smallPacks(dir)
	if err != nil || len(bases) <= mergePacksAbove {
		return false, err
	}
	var objs []pendingObject
	seen := map[plumbing.Hash]bool{}
	for _, b := range bases {
		if objs, err = readPackObjects(dir, b, objs, seen); err != nil {
			return false, fmt.Errorf("merge packs: read %s: %w", b, err)
		}
	}
	merged, err := s.writePack(objs)
	if err != nil {
		return false, fmt.Errorf("merge packs: %w", err)
	}
	for _, b := range bases {
		if b == merged {
			continue // the union was exactly one old pack
		}
		os.Remove(filepath.Join(dir, b+".pack"))
		os.Remove(filepath.Join(dir, b+".idx"))
	}
	s.ownPackWrite()
	return true, nil
}

// readPackObjects appends the objects of pack base in dir that are not yet
// in seen, every one checked against its id.
func readPackObjects(dir, base string, objs []pendingObject, seen map[plumbing.Hash]bool) ([]pendingObject, error) {
	fi, err := os.Open(filepath.Join(dir, base+".idx"))
	if err != nil {
		return objs, err
	}
	idx := idxfile.NewMemoryIndex()
	err = idxfile.NewDecoder(fi).Decode(idx)
	fi.Close()
	if err != nil {
		return objs, err
	}
	fs := osfs.New(dir)
	f, err := fs.Open(base + ".pack")
	if err != nil {
		return objs, err
	}
	p := packfile.NewPackfile(idx, fs, f, 0)
	defer p.Close()
	it, err := idx.Entries()
	if err != nil {
		return objs, err
	}
	defer it.Close()
	for {
		e, err := it.Next()
		if err == io.EOF {
			return objs, nil
		}
		if err != nil {
			return objs, err
		}
		o, err := p.GetByOffset(int64(e.Offset))
		if err != nil {
			return objs, err
		}
		// Checked against the name the index gives it, even when seen:
		// a forged copy refuses the merge whichever pack is read first.
		body, err := readEncoded(o)
		if err != nil {
			return objs, err
		}
		if got := hashObject(o.Type(), body); got != e.Hash {
			return objs, fmt.Errorf("object %s hashes to %s", e.Hash, got)
		}
		if seen[e.Hash] {
			continue
		}
		seen[e.Hash] = true
		objs = append(objs, pendingObject{h: e.Hash, typ: o.Type(), size: int64(len(body)), body: body})
	}
}

// readEncoded returns the body of o.
func readEncoded(o plumbing.EncodedObject) ([]byte, error) {
	r, err := o.Reader()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(r)
}
