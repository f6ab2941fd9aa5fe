package patch

import (
	"io"

	"github.com/bluekeyes/go-gitdiff/gitdiff"
	"github.com/factory-dev/factory"
)

// A patch of a few megabytes can ask for far more: a binary delta copies
// the same source bytes over and over, a copy header duplicates a large
// file, and every result is held in memory until the write. These limits
// bound what one patch writes (and so the memory it holds) before any
// result is computed in full.
const (
	// DefaultMaxWriteBytes is the limit on the bytes one patch writes, all
	// files together, when Options leaves MaxWriteBytes at zero.
	DefaultMaxWriteBytes = 64 << 20
	// DefaultMaxFileBytes is the limit on one file a patch writes when
	// Options leaves MaxFileBytes at zero.
	DefaultMaxFileBytes = 32 << 20
	// MaxFuzz is the most context lines per hunk end Options.Fuzz may let
	// mismatch: past it a hunk would match almost anywhere, which is no
	// longer applying the patch that was written.
	MaxFuzz = 3
)

// validate refuses options no caller should send, whatever tool or gate
// they come through.
func (opt Options) validate() error {
	if opt.Fuzz < 0 || opt.Fuzz > MaxFuzz {
		return factory.Errorf(factory.EINVALID, "fuzz %d: use 0 to %d", opt.Fuzz, MaxFuzz)
	}
	return nil
}

// budget tracks what the patch has asked to write so far.
type budget struct {
	file, total int64 // the limits
	used        int64 // bytes of the results computed so far
}

func newBudget(opt Options) budget {
	b := budget{file: opt.MaxFileBytes, total: opt.MaxWriteBytes}
	if b.file <= 0 {
		b.file = DefaultMaxFileBytes
	}
	if b.total <= 0 {
		b.total = DefaultMaxWriteBytes
	}
	return b
}

// allowed is the largest result the next file may have.
func (b *budget) allowed() int64 { return max(0, min(b.file, b.total-b.used)) }

// charge accounts for a result of n bytes for name (patch line line), or
// refuses it with EINVALID naming the limit it passes.
func (b *budget) charge(line int, name string, n int64) error {
	if err := b.check(line, name, n); err != nil {
		return err
	}
	b.used += n
	return nil
}

func (b *budget) check(line int, name string, n int64) error {
	switch {
	case n > b.file:
		return factory.Errorf(factory.EINVALID,
			"patch line %d: %s would be %d bytes, more than the %d-byte limit on one file a patch writes; nothing was written: change such a file another way, or have a person raise patch.max_file in factory.yaml and commit it",
			line, name, n, b.file)
	case b.used+n > b.total:
		return factory.Errorf(factory.EINVALID,
			"patch line %d: with %s the patch would write more than %d bytes, the limit for one patch; nothing was written: split it into smaller patches, or have a person raise patch.max_write in factory.yaml and commit it",
			line, name, b.total)
	}
	return nil
}

// binaryResultSize is the size a binary fragment declares for its result:
// the literal's size, or the target size in a delta's header (read by
// inflating only its first bytes). ok is false when the data is too
// corrupt to tell, which applying reports.
func binaryResultSize(frag *gitdiff.BinaryFragment) (n int64, ok bool) {
	if frag.Method == gitdiff.BinaryPatchLiteral {
		return frag.Size, true
	}
	var head [20]byte // two varints of at most 10 bytes each
	m, _ := io.ReadFull(frag.Data(), head[:])
	rest, ok := skipVarint(head[:m]) // the source size
	if !ok {
		return 0, false
	}
	var size int64
	for i, c := range rest {
		if i >= 9 {
			return 0, false
		}
		size |= int64(c&0x7f) << (7 * i)
		if c&0x80 == 0 {
			return size, true
		}
	}
	return 0, false
}

func skipVarint(b []byte) ([]byte, bool) {
	for i, c := range b {
		if c&0x80 == 0 {
			return b[i+1:], true
		}
	}
	return nil, false
}
