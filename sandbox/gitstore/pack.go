package gitstore

import (
	"bufio"
	"bytes"
	"compress/zlib"
	"crypto/sha1"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/format/idxfile"
	"github.com/go-git/go-git/v5/plumbing/format/packfile"
)

// This file writes the new objects of one capture as a single packfile.
// A snapshot after a few edits makes tens of new objects (the blobs, every
// tree on the way to them, the commit); written loose, each costs a file
// create, which on a busy or discard-mounted disk takes longer than the
// whole walk. One pack and its index cost two. The pack is plain (no
// deltas): the objects are small and new, and git repacks them later.
//
// Crash safety follows git: both files are written under temporary names,
// then the .pack is renamed into place before the .idx. A .pack without
// its .idx is invisible to git; go-git, however, fails every packed read
// when it lists one, so the next capture indexes such an orphan
// (repairOrphanPacks) before it reads anything.

// minPackObjects is the fewest new objects written as a pack; fewer are
// written loose (a pack costs two files).
const minPackObjects = 5

// maxBatchBytes bounds the bodies a batch holds in memory; objects past it
// are written loose.
const maxBatchBytes = 64 << 20

// pendingObject is one object waiting in a batch.
type pendingObject struct {
	h    plumbing.Hash
	typ  plumbing.ObjectType
	size int64  // of the body
	body []byte // nil once deflated, but for the first few of a batch (written loose if the batch stays that small)
	z    []byte // body deflated, as a pack entry holds it; nil: not yet
}

// packBatch collects the new objects of one capture. Every body was
// hashed by the caller from the very bytes kept here, so a pack written
// from them holds each object under its own id. Bodies are deflated as
// they are added, by the walk's goroutines in parallel, as loose writes
// were.
type packBatch struct {
	mu    sync.Mutex
	objs  []pendingObject
	has   map[plumbing.Hash]bool
	bytes int
	zw    sync.Pool // *zlib.Writer: each holds about a megabyte of state
}

// add keeps object h unless it is already pending; false when the batch is
// full and the caller must write the object itself.
func (b *packBatch) add(h plumbing.Hash, typ plumbing.ObjectType, body []byte) bool {
	z, err := b.deflate(body)
	if err != nil {
		return false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.has[h] {
		return true
	}
	if b.bytes+len(z) > maxBatchBytes {
		return false
	}
	if b.has == nil {
		b.has = make(map[plumbing.Hash]bool)
	}
	b.has[h] = true
	b.bytes += len(z)
	o := pendingObject{h: h, typ: typ, size: int64(len(body)), z: z}
	if len(b.objs) < minPackObjects {
		o.body = body
	}
	b.objs = append(b.objs, o)
	return true
}

// deflate compresses body with a pooled writer.
func (b *packBatch) deflate(body []byte) ([]byte, error) {
	var buf bytes.Buffer
	zw, _ := b.zw.Get().(*zlib.Writer)
	if zw == nil {
		zw = zlib.NewWriter(&buf)
	} else {
		zw.Reset(&buf)
	}
	defer b.zw.Put(zw)
	if _, err := zw.Write(body); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// pending reports whether h waits in the batch.
func (b *packBatch) pending(h plumbing.Hash) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.has[h]
}

// flush writes the batch (as a pack, or loose when it is small) and
// remembers its objects as stored. It reports whether a pack was written.
func (s *objectStore) flush(b *packBatch) (bool, error) {
	b.mu.Lock()
	objs := b.objs
	b.objs, b.has, b.bytes = nil, nil, 0
	b.mu.Unlock()
	if len(objs) == 0 {
		return false, nil
	}
	packed := len(objs) >= minPackObjects
	if packed {
		if _, err := s.writePack(objs); err != nil {
			return false, err
		}
	} else {
		for _, o := range objs {
			if err := s.writeLoose(o.h, o.typ, o.body); err != nil {
				return false, err
			}
		}
	}
	for _, o := range objs {
		s.remember(o.h)
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

// writePack writes objs as one pack and its index, renaming the .pack into
// place before the .idx, and returns the pack's base name ("pack-<id>").
func (s *objectStore) writePack(objs []pendingObject) (string, error) {
	dir := filepath.Join(s.dir, "pack")
	pf, ptmp, err := createObjectTemp(dir, "tmp_pack_")
	if err != nil {
		return "", err
	}
	idx, sum, err := encodePack(pf, objs)
	if cerr := pf.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(ptmp)
		return "", err
	}
	base := filepath.Join(dir, "pack-"+sum.String())
	itmp, err := writeIdxTemp(dir, idx)
	if err != nil {
		os.Remove(ptmp)
		return "", err
	}
	if err := os.Rename(ptmp, base+".pack"); err != nil {
		os.Remove(ptmp)
		os.Remove(itmp)
		return "", err
	}
	if s.beforeIdxRename != nil {
		if err := s.beforeIdxRename(); err != nil {
			return "", err // a simulated crash: the .pack stays, its .idx does not
		}
	}
	if err := os.Rename(itmp, base+".idx"); err != nil {
		os.Remove(itmp)
		return "", err
	}
	return filepath.Base(base), nil
}

// encodePack writes objs to w as a version 2 pack of whole objects and
// returns the index of what it wrote and the pack's checksum.
func encodePack(w io.Writer, objs []pendingObject) (*idxfile.MemoryIndex, plumbing.Hash, error) {
	d := sha1.New()
	bw := bufio.NewWriterSize(io.MultiWriter(w, d), 64<<10)
	var hdr [12]byte
	copy(hdr[:], "PACK")
	binary.BigEndian.PutUint32(hdr[4:], 2)
	binary.BigEndian.PutUint32(hdr[8:], uint32(len(objs)))
	bw.Write(hdr[:])
	pos := int64(len(hdr))
	iw := new(idxfile.Writer)
	iw.OnHeader(uint32(len(objs)))
	var zb packBatch // for the objects not deflated yet (a merge's)
	for _, o := range objs {
		z := o.z
		if z == nil {
			var err error
			if z, err = zb.deflate(o.body); err != nil {
				return nil, plumbing.ZeroHash, err
			}
		}
		eh := packEntryHeader(o.typ, o.size)
		crc := crc32.ChecksumIEEE(eh)
		crc = crc32.Update(crc, crc32.IEEETable, z)
		bw.Write(eh)
		bw.Write(z)
		iw.Add(o.h, uint64(pos), crc)
		pos += int64(len(eh) + len(z))
	}
	if err := bw.Flush(); err != nil {
		return nil, plumbing.ZeroHash, err
	}
	sum := sumHash(d)
	if _, err := w.Write(sum[:]); err != nil {
		return nil, plumbing.ZeroHash, err
	}
	if err := iw.OnFooter(sum); err != nil {
		return nil, plumbing.ZeroHash, err
	}
	idx, err := iw.Index()
	return idx, sum, err
}

// packEntryHeader is a pack entry's type and size: the low four bits of
// the size and the type in the first byte, then seven bits a byte.
func packEntryHeader(typ plumbing.ObjectType, size int64) []byte {
	c := byte(typ)<<4 | byte(size&0x0f)
	size >>= 4
	var out []byte
	for size > 0 {
		out = append(out, c|0x80)
		c = byte(size & 0x7f)
		size >>= 7
	}
	return append(out, c)
}

// writeIdxTemp writes idx under a temporary name in dir and returns it.
func writeIdxTemp(dir string, idx *idxfile.MemoryIndex) (string, error) {
	f, tmp, err := createObjectTemp(dir, "tmp_idx_")
	if err != nil {
		return "", err
	}
	bw := bufio.NewWriter(f)
	_, err = idxfile.NewEncoder(bw).Encode(idx)
	if err == nil {
		err = bw.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp)
		return "", err
	}
	return tmp, nil
}

// repairOrphanPacks writes the missing index of every pack in the pack
// directory that has none: what a crash between the two renames of
// writePack leaves (or a git process between its own two renames, whose
// rename then replaces ours with an equivalent index). git ignores such a
// pack, but go-git fails every packed read while one is there. It reports
// whether it wrote anything.
func (s *objectStore) repairOrphanPacks() (bool, error) {
	dir := filepath.Join(s.dir, "pack")
	names, err := readDirNames(dir)
	if err != nil {
		return false, err
	}
	have := make(map[string]bool, len(names))
	for _, n := range names {
		have[n] = true
	}
	repaired := false
	for _, n := range names {
		base, ok := strings.CutSuffix(n, ".pack")
		if !ok || !strings.HasPrefix(base, "pack-") || have[base+".idx"] {
			continue
		}
		if err := indexPack(dir, base); err != nil {
			return repaired, fmt.Errorf("index orphan pack %s: %w", n, err)
		}
		repaired = true
	}
	return repaired, nil
}

// readDirNames lists dir (nothing when it does not exist).
func readDirNames(dir string) ([]string, error) {
	f, err := os.Open(dir)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return f.Readdirnames(-1)
}

// indexPack parses pack base+".pack" in dir (any pack, deltas included)
// and writes base+".idx" for it, temp file first.
func indexPack(dir, base string) error {
	f, err := os.Open(filepath.Join(dir, base+".pack"))
	if err != nil {
		return err
	}
	defer f.Close()
	iw := new(idxfile.Writer)
	p, err := packfile.NewParser(packfile.NewScanner(f), iw)
	if err != nil {
		return err
	}
	sum, err := p.Parse()
	if err != nil {
		return err
	}
	if "pack-"+sum.String() != base {
		return fmt.Errorf("its checksum is %s", sum)
	}
	idx, err := iw.Index()
	if err != nil {
		return err
	}
	tmp, err := writeIdxTemp(dir, idx)
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(dir, base+".idx")); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}
