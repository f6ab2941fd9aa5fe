package gitstore

import (
	"bytes"
	"crypto/sha1"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sort"
	"strconv"

	"github.com/go-git/go-git/v5/plumbing"
)

// This file reads git's index (.git/index) as a stat cache, never writing
// it. The format is documented in git's Documentation/gitformat-index.txt;
// versions 2, 3 and 4 are read. Anything this reader does not understand
// (split index, sparse index, entries with skip-worktree or assume-unchanged,
// an unknown required extension) is reported as errIndexUnsupported and the
// capture falls back to the git command line on a copy of the index.

// errIndexUnsupported says the index uses a feature the native capture does
// not handle; the caller falls back to git itself.
var errIndexUnsupported = errors.New("index uses a feature the native reader does not handle")

// statInfo is the part of a file's lstat that git's index records and
// compares to decide whether a file may have changed.
type statInfo struct {
	mtime, ctime int64 // nanoseconds since the epoch
	ino          uint32
	uid, gid     uint32
	size         uint32 // truncated to 32 bits, as in the index
	mode         uint32 // git mode: 0100644, 0100755, 0120000, 0160000
}

// indexEntry is one stage-0 (or conflicted) entry of the index.
type indexEntry struct {
	path  string
	hash  [20]byte
	stage int
	st    statInfo
}

// gitIndex is a parsed index: entries sorted by path (git's order), and the
// index file's own mtime for the racy-timestamp rule.
type gitIndex struct {
	entries []indexEntry
	trees   map[string]plumbing.Hash // the TREE extension: see cacheTree
	mtime   int64
	key     fileKey
	absent  bool // there is no index file (a repository where nothing was staged)
}

// fileKey identifies one version of a file cheaply (to reuse a parse).
type fileKey struct {
	size         int64
	mtime, ctime int64
	ino          uint64
}

// gitMode is the tree mode git records for a file of mode m (0 for kinds git
// does not track).
func gitMode(m fs.FileMode) uint32 {
	switch {
	case m.IsRegular():
		if m&0o100 != 0 {
			return 0o100755
		}
		return 0o100644
	case m&fs.ModeSymlink != 0:
		return 0o120000
	case m.IsDir():
		return 0o040000
	}
	return 0
}

// readIndex reads the index at path. A missing file is an empty index.
// prev, when its key matches the file's, is returned as is.
func readIndex(path string, prev *gitIndex) (*gitIndex, error) {
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return &gitIndex{absent: true}, nil
	}
	if err != nil {
		return nil, err
	}
	k := keyOf(fi)
	if prev != nil && prev.key == k && k.size > 0 {
		return prev, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	idx, err := parseIndex(b)
	if err != nil {
		return nil, err
	}
	idx.mtime = fi.ModTime().UnixNano()
	idx.key = k
	// The file may have been replaced between stat and read. The mtime
	// taken before the read is then older than the content, which only
	// makes more entries racy (rehashed): safe. Forget the key so the next
	// capture reads the file again.
	if fi2, err := os.Stat(path); err == nil && keyOf(fi2) != k {
		idx.key = fileKey{}
	}
	return idx, nil
}

// parseIndex decodes an index file's bytes.
func parseIndex(b []byte) (*gitIndex, error) {
	const hashLen = 20
	if len(b) < 12+hashLen || string(b[:4]) != "DIRC" {
		return nil, fmt.Errorf("%w: not an index file (bad signature)", errIndexUnsupported)
	}
	body, sum := b[:len(b)-hashLen], b[len(b)-hashLen:]
	if !bytes.Equal(sum, make([]byte, hashLen)) { // all zero: index.skipHash
		if s := sha1.Sum(body); !bytes.Equal(s[:], sum) {
			return nil, fmt.Errorf("%w: checksum mismatch (a SHA-256 repository, or a damaged index)", errIndexUnsupported)
		}
	}
	version := binary.BigEndian.Uint32(b[4:8])
	if version < 2 || version > 4 {
		return nil, fmt.Errorf("%w: version %d", errIndexUnsupported, version)
	}
	n := int(binary.BigEndian.Uint32(b[8:12]))
	idx := &gitIndex{entries: make([]indexEntry, 0, n)}
	off := 12
	prevName := ""
	for i := 0; i < n; i++ {
		if off+62 > len(body) {
			return nil, fmt.Errorf("%w: truncated entry", errIndexUnsupported)
		}
		e := body[off:]
		u32 := func(at int) uint32 { return binary.BigEndian.Uint32(e[at:]) }
		var ie indexEntry
		ie.st.ctime = int64(u32(0))*1e9 + int64(u32(4))
		ie.st.mtime = int64(u32(8))*1e9 + int64(u32(12))
		ie.st.ino = u32(20)
		ie.st.mode = u32(24)
		ie.st.uid, ie.st.gid = u32(28), u32(32)
		ie.st.size = u32(36)
		copy(ie.hash[:], e[40:60])
		flags := binary.BigEndian.Uint16(e[60:])
		ie.stage = int(flags>>12) & 3
		if flags&0x8000 != 0 {
			return nil, fmt.Errorf("%w: %s is marked assume-unchanged", errIndexUnsupported, "an entry")
		}
		hdr := 62
		if flags&0x4000 != 0 {
			if version < 3 || off+64 > len(body) {
				return nil, fmt.Errorf("%w: bad extended flags", errIndexUnsupported)
			}
			ext := binary.BigEndian.Uint16(e[62:])
			if ext&0x4000 != 0 {
				return nil, fmt.Errorf("%w: sparse checkout (skip-worktree entries)", errIndexUnsupported)
			}
			hdr = 64
		}
		if ie.st.mode&0o170000 == 0o040000 {
			return nil, fmt.Errorf("%w: sparse index", errIndexUnsupported)
		}
		if version == 4 {
			strip, used := readOffsetVarint(e[hdr:])
			if used == 0 || strip > len(prevName) {
				return nil, fmt.Errorf("%w: bad v4 name", errIndexUnsupported)
			}
			rest := e[hdr+used:]
			z := bytes.IndexByte(rest, 0)
			if z < 0 {
				return nil, fmt.Errorf("%w: unterminated name", errIndexUnsupported)
			}
			ie.path = prevName[:len(prevName)-strip] + string(rest[:z])
			off += hdr + used + z + 1
		} else {
			rest := e[hdr:]
			z := bytes.IndexByte(rest, 0)
			if z < 0 {
				return nil, fmt.Errorf("%w: unterminated name", errIndexUnsupported)
			}
			ie.path = string(rest[:z])
			// Entries are padded with 1..8 NULs to a multiple of 8 bytes.
			off += (hdr + z + 8) &^ 7
		}
		prevName = ie.path
		idx.entries = append(idx.entries, ie)
	}
	// Extensions: a required one (first byte not 'A'..'Z') that we do not
	// know changes the meaning of the entries ("link": split index,
	// "sdir": sparse index).
	for off+8 <= len(body) {
		sig := body[off : off+4]
		size := int(binary.BigEndian.Uint32(body[off+4:]))
		if sig[0] < 'A' || sig[0] > 'Z' {
			return nil, fmt.Errorf("%w: extension %q", errIndexUnsupported, sig)
		}
		if string(sig) == "TREE" && off+8+size <= len(body) {
			idx.trees = cacheTree(body[off+8 : off+8+size])
		}
		off += 8 + size
	}
	if !sort.SliceIsSorted(idx.entries, func(i, j int) bool { return idx.entries[i].path < idx.entries[j].path }) {
		return nil, fmt.Errorf("%w: entries out of order", errIndexUnsupported)
	}
	return idx, nil
}

// cacheTree decodes the index's TREE extension: the id of the tree git
// last wrote for each directory whose entries have not changed since ("" for
// the root, else "a/b/"). git wrote those trees, so a capture that builds
// the same tree for a directory need not ask whether it is stored. Nil when
// the extension does not parse.
func cacheTree(b []byte) map[string]plumbing.Hash {
	out := map[string]plumbing.Hash{}
	type frame struct {
		prefix string
		left   int // subtrees still to come
	}
	var stack []frame
	for len(b) > 0 {
		name, rest, ok1 := bytes.Cut(b, []byte{0})
		counts, rest, ok2 := bytes.Cut(rest, []byte{'\n'})
		ents, subs, ok3 := bytes.Cut(counts, []byte{' '})
		n, err1 := strconv.Atoi(string(ents))
		k, err2 := strconv.Atoi(string(subs))
		if !ok1 || !ok2 || !ok3 || err1 != nil || err2 != nil || k < 0 {
			return nil
		}
		prefix := ""
		if len(stack) > 0 {
			top := &stack[len(stack)-1]
			prefix = top.prefix + string(name) + "/"
			top.left--
		}
		if n >= 0 { // -1: invalidated, no id follows
			if len(rest) < 20 {
				return nil
			}
			out[prefix] = plumbing.Hash(rest[:20])
			rest = rest[20:]
		}
		b = rest
		stack = append(stack, frame{prefix, k})
		for len(stack) > 0 && stack[len(stack)-1].left <= 0 {
			stack = stack[:len(stack)-1]
		}
	}
	return out
}

// readOffsetVarint decodes git's "offset" varint (used by index v4).
func readOffsetVarint(b []byte) (val, used int) {
	if len(b) == 0 {
		return 0, 0
	}
	c := b[0]
	used = 1
	val = int(c & 127)
	for c&128 != 0 {
		if used >= len(b) || used > 8 {
			return 0, 0
		}
		val++
		c = b[used]
		used++
		val = val<<7 + int(c&127)
	}
	return val, used
}

// racy reports whether an entry recorded with mtime m cannot be trusted by
// its stat alone: it was modified no earlier than the index was written, so
// a later change within the same timestamp would be invisible.
func (idx *gitIndex) racy(m int64) bool {
	return m >= idx.mtime
}

// sameStat reports whether the file as lstat'ed now matches what the index
// (or a stat cache) recorded, field by field as git compares them.
func sameStat(rec, now statInfo) bool {
	return rec.mtime == now.mtime && rec.ctime == now.ctime && rec.ino == now.ino &&
		rec.size == now.size && rec.mode == now.mode && rec.uid == now.uid && rec.gid == now.gid
}
