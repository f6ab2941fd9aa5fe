package gitstore

import (
	"os"
	"path/filepath"

	"github.com/factory-dev/factory/sandbox/gitstore/packs"
)

// flush writes the batch (as a pack, or loose when it is small) and
// remembers its objects as stored. It reports whether a pack was written.
func (s *objectStore) flush(b *packs.Batch) (bool, error) {
	objs := b.Take()
	if len(objs) == 0 {
		return false, nil
	}
	packed := len(objs) >= packs.MinObjects
	if packed {
		if _, err := s.writePack(objs); err != nil {
			return false, err
		}
	} else {
		for _, o := range objs {
			if err := s.writeLoose(o.Hash, o.Type, o.Body); err != nil {
				return false, err
			}
		}
	}
	for _, o := range objs {
		s.remember(o.Hash)
	}
	if packed {
		s.ownPackWrite()
	}
	return packed, nil
}

// ownPackWrite records the pack directory's mtime after a pack of ours
// landed in it, so that refresh does not take our own write for a repack
// and forget every known object.
func (s *objectStore) ownPackWrite() {
	fi, err := os.Stat(filepath.Join(s.dir, "pack"))
	if err != nil {
		return
	}
	s.mu.Lock()
	s.pack = fi.ModTime()
	s.mu.Unlock()
}

// writePack writes objs as one pack of the object store (see packs.Write).
func (s *objectStore) writePack(objs []packs.Object) (string, error) {
	return packs.Write(filepath.Join(s.dir, "pack"), objs, s.beforeIdxRename)
}

// repairOrphanPacks indexes the packs a crash left without an index (see
// packs.RepairOrphans).
func (s *objectStore) repairOrphanPacks() (bool, error) {
	return packs.RepairOrphans(filepath.Join(s.dir, "pack"))
}

// mergeSmallPacks merges the store's small packs when there are too many
// (see packs.Merge), and records the write as its own.
func (s *objectStore) mergeSmallPacks() (bool, error) {
	merged, err := packs.Merge(filepath.Join(s.dir, "pack"))
	if merged {
		s.ownPackWrite()
	}
	return merged, err
}
