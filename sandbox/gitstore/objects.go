package gitstore

import (
	"bytes"
	"compress/zlib"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/factory-dev/factory/sandbox/gitstore/packs"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
)

// This file reads and writes git objects for the capture engine. Objects
// are written straight into the object directory (temp file, rename: the
// same thing git does), which is safe alongside go-git readers and git
// itself: the new objects of a capture as one pack when there are several
// (pack.go), others loose; reads go through go-git's storer under
// Store.mu.

// Entry is one entry of a git tree object. In a Change, Name is the
// entry's base name and the path is the Change's.
type Entry struct {
	Name string
	Mode filemode.FileMode // 0o100644, 0o100755, 0o120000, 0o160000 or 0o040000
	Hash plumbing.Hash
}

const modeTree = 0o040000

// sortTreeEntries orders entries as git does in a tree object: by name,
// where a tree's name compares as if it ended in '/'.
func sortTreeEntries(es []Entry) {
	slices.SortFunc(es, func(a, b Entry) int {
		switch {
		case treeNameLess(a, b):
			return -1
		case treeNameLess(b, a):
			return 1
		}
		return 0
	})
}

func treeNameLess(a, b Entry) bool {
	an, bn := a.Name, b.Name
	n := min(len(an), len(bn))
	if c := bytes.Compare([]byte(an[:n]), []byte(bn[:n])); c != 0 {
		return c < 0
	}
	var ac, bc byte
	if len(an) > n {
		ac = an[n]
	} else if a.Mode == modeTree {
		ac = '/'
	}
	if len(bn) > n {
		bc = bn[n]
	} else if b.Mode == modeTree {
		bc = '/'
	}
	return ac < bc
}

// encodeTree serialises entries (already in git order) as a tree body.
func encodeTree(es []Entry) []byte {
	size := 0
	for _, e := range es {
		size += len(e.Name) + 28
	}
	b := make([]byte, 0, size)
	for _, e := range es {
		b = strconv.AppendUint(b, uint64(e.Mode), 8)
		b = append(b, ' ')
		b = append(b, e.Name...)
		b = append(b, 0)
		b = append(b, e.Hash[:]...)
	}
	return b
}

// decodeTree parses a tree body.
func decodeTree(b []byte) ([]Entry, error) {
	var es []Entry
	for len(b) > 0 {
		sp := bytes.IndexByte(b, ' ')
		if sp < 0 {
			return nil, errors.New("malformed tree entry")
		}
		mode, err := strconv.ParseUint(string(b[:sp]), 8, 32)
		if err != nil {
			return nil, fmt.Errorf("malformed tree mode %q", b[:sp])
		}
		b = b[sp+1:]
		z := bytes.IndexByte(b, 0)
		if z < 0 || len(b) < z+21 {
			return nil, errors.New("malformed tree entry")
		}
		e := Entry{Name: string(b[:z]), Mode: filemode.FileMode(mode)}
		copy(e.Hash[:], b[z+1:z+21])
		es = append(es, e)
		b = b[z+21:]
	}
	return es, nil
}

// objectHeader returns "<type> <size>\x00".
func objectHeader(typ plumbing.ObjectType, size int64) []byte {
	h := append([]byte(typ.String()), ' ')
	h = strconv.AppendInt(h, size, 10)
	return append(h, 0)
}

// hashObject computes the id of an object of type typ with body b.
func hashObject(typ plumbing.ObjectType, b []byte) plumbing.Hash {
	d := sha1.New()
	d.Write(objectHeader(typ, int64(len(b))))
	d.Write(b)
	var h plumbing.Hash
	d.Sum(h[:0])
	return h
}

// objectStore writes loose objects and remembers which objects are known
// to exist, so that a warm capture does not ask the disk again.
type objectStore struct {
	dir string // the objects directory

	mu    sync.Mutex
	known map[plumbing.Hash]struct{}
	since time.Time // when known was last emptied
	pack  time.Time // mtime of objects/pack when last seen (refresh, ownPackWrite)

	// beforeIdxRename, when set (by tests), runs between the renames of
	// a new pack and its index; an error stops writePack there, as a
	// crash would.
	beforeIdxRename func() error
}

// knownTTL bounds how long the store trusts its memory of an object's
// existence: `git gc --prune=now` can delete unreachable objects, for
// example those of a snapshot just pruned.
const knownTTL = 10 * time.Minute

// refresh forgets known objects when they may have been collected: after
// knownTTL, or when objects/pack changed (a repack ran). When objects/pack
// changed, it also indexes any pack left without its index (a crash
// between writePack's renames) and reports true: the caller's go-git
// pack index is stale.
func (s *objectStore) refresh() (packsChanged bool, err error) {
	var pm time.Time
	if fi, err := os.Stat(filepath.Join(s.dir, "pack")); err == nil {
		pm = fi.ModTime()
	}
	s.mu.Lock()
	changed := !pm.Equal(s.pack)
	if s.known == nil || time.Since(s.since) > knownTTL || changed {
		s.known = make(map[plumbing.Hash]struct{})
		s.since = time.Now()
		s.pack = pm
	}
	s.mu.Unlock()
	if !changed {
		return false, nil
	}
	_, err = s.repairOrphanPacks()
	return true, err
}

// packStamp is the pack directory's mtime as refresh or ownPackWrite last
// saw it.
func (s *objectStore) packStamp() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pack
}

// forget empties the memory of known objects (after refs were deleted).
func (s *objectStore) forget() {
	s.mu.Lock()
	s.known = nil
	s.mu.Unlock()
}

func (s *objectStore) isKnown(h plumbing.Hash) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.known[h]
	return ok
}

func (s *objectStore) remember(h plumbing.Hash) {
	s.mu.Lock()
	if s.known == nil {
		s.known = make(map[plumbing.Hash]struct{})
		s.since = time.Now()
	}
	if len(s.known) < 4<<20 {
		s.known[h] = struct{}{}
	}
	s.mu.Unlock()
}

func (s *objectStore) loosePath(h plumbing.Hash) string {
	x := hex.EncodeToString(h[:])
	return filepath.Join(s.dir, x[:2], x[2:])
}

// writeLoose writes object h (type typ, body b) as a loose object unless a
// loose copy already exists.
func (s *objectStore) writeLoose(h plumbing.Hash, typ plumbing.ObjectType, b []byte) error {
	return s.writeLooseFrom(h, typ, int64(len(b)), func(w io.Writer) error {
		_, err := w.Write(b)
		return err
	})
}

// errObjectChanged is writeLooseFrom's answer when what fill wrote is not
// the object it was asked to store.
var errObjectChanged = errors.New("object changed while being written")

// writeLooseFrom is writeLoose for content produced by fill (size bytes).
// The object is verified against h before it is renamed into place, so a
// file that changed since it was hashed never lands under the wrong name;
// a copy written meanwhile by someone else is the same object, so the
// rename replaces it with identical bytes. Each system call counts here
// (a snapshot after a few edits writes tens of objects, and on a busy disk
// each metadata operation waits): the fan-out directory is made only when
// the create says it is missing, the file is created read-only instead of
// chmod'ed, and one rename replaces git's link and unlink.
func (s *objectStore) writeLooseFrom(h plumbing.Hash, typ plumbing.ObjectType, size int64, fill func(io.Writer) error) error {
	final := s.loosePath(h)
	if _, err := os.Lstat(final); err == nil {
		return nil
	}
	f, tmp, err := packs.CreateTemp(filepath.Dir(final), "tmp_obj_")
	if err != nil {
		return err
	}
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(tmp)
		}
	}()
	z := zlib.NewWriter(f)
	d := sha1.New()
	mw := io.MultiWriter(z, d)
	if _, err := mw.Write(objectHeader(typ, size)); err != nil {
		return err
	}
	cw := &countWriter{w: mw}
	if err := fill(cw); err != nil {
		return err
	}
	if cw.n != size {
		return fmt.Errorf("%w (%d bytes, expected %d)", errObjectChanged, cw.n, size)
	}
	if got := sumHash(d); got != h {
		return fmt.Errorf("%w (hash %s, expected %s)", errObjectChanged, got, h)
	}
	if err := z.Close(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	ok = true
	if err := os.Rename(tmp, final); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

func sumHash(d hash.Hash) plumbing.Hash {
	var h plumbing.Hash
	d.Sum(h[:0])
	return h
}

// newObjectHasher returns a SHA-1 that has already consumed the header of
// an object of type typ and the given size; write the body, then sumHash.
func newObjectHasher(typ plumbing.ObjectType, size int64) hash.Hash {
	d := sha1.New()
	d.Write(objectHeader(typ, size))
	return d
}
