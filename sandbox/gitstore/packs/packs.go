package packs

import (
	"bufio"
	"bytes"
	"compress/zlib"
	"crypto/sha1"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/go-git/go-billy/v5/osfs"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/format/idxfile"
	"github.com/go-git/go-git/v5/plumbing/format/packfile"
)

// MinObjects is the fewest new objects written as a pack; fewer are
// written loose (a pack costs two files).
const MinObjects = 5

// maxBatchBytes bounds the bodies a batch holds in memory; objects past it
// are written loose.
const maxBatchBytes = 64 << 20

// Object is one object waiting in a batch.
type Object struct {
	Hash plumbing.Hash
	Type plumbing.ObjectType
	Size int64  // of the body
	Body []byte // nil once deflated, but for the first few of a batch (written loose if the batch stays that small)
	Z    []byte // body deflated, as a pack entry holds it; nil: not yet
}

// Batch collects the new objects of one capture. Every body was
// hashed by the caller from the very bytes kept here, so a pack written
// from them holds each object under its own id. Bodies are deflated as
// they are added, by the walk's goroutines in parallel, as loose writes
// were.
type Batch struct {
	mu    sync.Mutex
	objs  []Object
	has   map[plumbing.Hash]bool
	bytes int
	zw    sync.Pool // *zlib.Writer: each holds about a megabyte of state
}

// Add keeps object h unless it is already pending; false when the batch is
// full and the caller must write the object itself.
func (b *Batch) Add(h plumbing.Hash, typ plumbing.ObjectType, body []byte) bool {
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
	o := Object{Hash: h, Type: typ, Size: int64(len(body)), Z: z}
	if len(b.objs) < MinObjects {
		o.Body = body
	}
	b.objs = append(b.objs, o)
	return true
}

// deflate compresses body with a pooled writer.
func (b *Batch) deflate(body []byte) ([]byte, error) {
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

// Pending reports whether h waits in the batch.
func (b *Batch) Pending(h plumbing.Hash) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.has[h]
}

// Take empties the batch and returns what it held.
func (b *Batch) Take() []Object {
	b.mu.Lock()
	defer b.mu.Unlock()
	objs := b.objs
	b.objs, b.has, b.bytes = nil, nil, 0
	return objs
}

// Write writes objs as one pack (in dir, the pack directory) and its index, renaming the .pack into
// place before the .idx, and returns the pack's base name ("pack-<id>").
func Write(dir string, objs []Object, beforeIdxRename func() error) (string, error) {
	pf, ptmp, err := CreateTemp(dir, "tmp_pack_")
	if err != nil {
		return "", err
	}
	idx, sum, err := encode(pf, objs)
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
	if beforeIdxRename != nil {
		if err := beforeIdxRename(); err != nil {
			return "", err // a simulated crash: the .pack stays, its .idx does not
		}
	}
	if err := os.Rename(itmp, base+".idx"); err != nil {
		os.Remove(itmp)
		return "", err
	}
	return filepath.Base(base), nil
}

// encode writes objs to w as a version 2 pack of whole objects and
// returns the index of what it wrote and the pack's checksum.
func encode(w io.Writer, objs []Object) (*idxfile.MemoryIndex, plumbing.Hash, error) {
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
	var zb Batch // for the objects not deflated yet (a merge's)
	for _, o := range objs {
		z := o.Z
		if z == nil {
			var err error
			if z, err = zb.deflate(o.Body); err != nil {
				return nil, plumbing.ZeroHash, err
			}
		}
		eh := EntryHeader(o.Type, o.Size)
		crc := crc32.ChecksumIEEE(eh)
		crc = crc32.Update(crc, crc32.IEEETable, z)
		bw.Write(eh)
		bw.Write(z)
		iw.Add(o.Hash, uint64(pos), crc)
		pos += int64(len(eh) + len(z))
	}
	if err := bw.Flush(); err != nil {
		return nil, plumbing.ZeroHash, err
	}
	sum := plumbing.Hash(d.Sum(nil))
	if _, err := w.Write(sum[:]); err != nil {
		return nil, plumbing.ZeroHash, err
	}
	if err := iw.OnFooter(sum); err != nil {
		return nil, plumbing.ZeroHash, err
	}
	idx, err := iw.Index()
	return idx, sum, err
}

// EntryHeader is a pack entry's type and size: the low four bits of
// the size and the type in the first byte, then seven bits a byte.
func EntryHeader(typ plumbing.ObjectType, size int64) []byte {
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
	f, tmp, err := CreateTemp(dir, "tmp_idx_")
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

// RepairOrphans writes the missing index of every pack in the pack
// directory dir that has none: what a crash between the two renames of
// Write leaves (or a git process between its own two renames, whose
// rename then replaces ours with an equivalent index). git ignores such a
// pack, but go-git fails every packed read while one is there. It reports
// whether it wrote anything.
func RepairOrphans(dir string) (bool, error) {
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

// CreateTemp creates a new read-only temporary file named
// prefix+random in the object directory dir (a fan-out directory or
// pack), making dir if it is missing.
func CreateTemp(dir, prefix string) (*os.File, string, error) {
	for try := 0; ; try++ {
		tmp := filepath.Join(dir, prefix+strconv.FormatUint(rand.Uint64(), 36))
		f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o444)
		switch {
		case err == nil:
			return f, tmp, nil
		case errors.Is(err, fs.ErrNotExist) && try == 0:
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return nil, "", err
			}
		case errors.Is(err, fs.ErrExist) && try < 10:
		default:
			return nil, "", err
		}
	}
}

// MergeAbove is how many small packs may pile up before they are
// merged.
const MergeAbove = 32

// smallPack is the size up to which a pack counts as small (a snapshot's
// pack after a few edits is a few KiB).
const smallPack = 1 << 20

// Small lists the bases ("pack-<id>") of the small packs in dir that
// have an .idx and no other sidecar, largest first.
func Small(dir string) ([]string, error) {
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

// Merge merges the small packs of the pack directory dir when there are
// more than MergeAbove, and reports whether it did.
func Merge(dir string) (bool, error) {
	bases, err := Small(dir)
	if err != nil || len(bases) <= MergeAbove {
		return false, err
	}
	var objs []Object
	seen := map[plumbing.Hash]bool{}
	for _, b := range bases {
		if objs, err = readObjects(dir, b, objs, seen); err != nil {
			return false, fmt.Errorf("merge packs: read %s: %w", b, err)
		}
	}
	merged, err := Write(dir, objs, nil)
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
	return true, nil
}

// readObjects appends the objects of pack base in dir that are not yet
// in seen, every one checked against its id.
func readObjects(dir, base string, objs []Object, seen map[plumbing.Hash]bool) ([]Object, error) {
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
		if got := plumbing.ComputeHash(o.Type(), body); got != e.Hash {
			return objs, fmt.Errorf("object %s hashes to %s", e.Hash, got)
		}
		if seen[e.Hash] {
			continue
		}
		seen[e.Hash] = true
		objs = append(objs, Object{Hash: e.Hash, Type: o.Type(), Size: int64(len(body)), Body: body})
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
