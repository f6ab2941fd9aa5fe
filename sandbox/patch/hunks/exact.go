package hunks

import (
	"bytes"
	"unsafe"

	"github.com/bluekeyes/go-gitdiff/gitdiff"
)

// Exact applies f's text hunks to base when each one matches byte for
// byte exactly where its header puts it, in one pass over base and into
// one buffer; it reports false for anything else (an offset, fuzz, line
// endings to convert, a hunk git anchors at the start or end of the file,
// a header that miscounts its body), which the line-by-line applier then
// handles. Where it reports true, the result is the one that applier
// would compute: a hunk that matches at its own line is the nearest match.
// The result is built in alloc(n), or a new buffer when alloc is nil.
func Exact(base []byte, f *gitdiff.File, alloc func(n int) []byte) ([]byte, bool) {
	if IsCRLF(unsafe.String(unsafe.SliceData(base), len(base))) {
		return nil, false
	}
	size := len(base)
	for _, frag := range f.TextFragments {
		var nOld, nNew int64
		for _, l := range frag.Lines {
			switch l.Op {
			case gitdiff.OpAdd:
				nNew++
				size += len(l.Line)
			case gitdiff.OpDelete:
				nOld++
				size -= len(l.Line)
			default:
				nOld++
				nNew++
			}
		}
		if nOld == 0 || nOld != frag.OldLines || nNew != frag.NewLines || frag.TrailingContext == 0 || frag.OldPosition <= 1 {
			return nil, false
		}
	}
	if size < 0 {
		return nil, false
	}
	var out []byte
	if alloc != nil {
		out = alloc(size)
	} else {
		out = make([]byte, 0, size)
	}
	line, off := 0, 0 // base[:off] holds lines [0, line) and is in out
	for _, frag := range f.TextFragments {
		target := int(frag.OldPosition) - 1
		if target < line {
			return nil, false
		}
		start := off
		for ; line < target; line++ {
			i := bytes.IndexByte(base[off:], '\n')
			if i < 0 {
				return nil, false
			}
			off += i + 1
		}
		out = append(out, base[start:off]...)
		for _, l := range frag.Lines {
			if l.Op == gitdiff.OpAdd {
				out = append(out, l.Line...)
				continue
			}
			rest := base[off:]
			if len(rest) < len(l.Line) || string(rest[:len(l.Line)]) != l.Line ||
				(len(l.Line) < len(rest) && (l.Line == "" || l.Line[len(l.Line)-1] != '\n')) {
				return nil, false
			}
			if l.Op == gitdiff.OpContext {
				out = append(out, l.Line...)
			}
			off += len(l.Line)
			line++
		}
	}
	return append(out, base[off:]...), true
}
