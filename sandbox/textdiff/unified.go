package textdiff

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"

	"github.com/factory-dev/factory"
)

// diffContext is the number of unchanged lines around each hunk, as git's
// default.
const diffContext = 3

// binarySniff is how many leading bytes git inspects for a NUL byte to
// decide that a file is binary.
const binarySniff = 8000

// Git's modes of the entries a diff distinguishes.
const (
	modeSymlink = 0o120000
	modeGitlink = 0o160000
)

// zeroID is the object id git prints for a side that does not exist.
const zeroID = "0000000000000000000000000000000000000000"

// Side is one side of a changed path.
type Side struct {
	Mode uint32 // git's mode: 0100644, 0100755, 0120000, 0160000
	Hash string // the object id in full hex
	Data []byte // the content (for a gitlink, "Subproject commit <id>\n")
}

// isFile reports whether s is a regular file (either exec bit).
func (s *Side) isFile() bool { return s.Mode&0o170000 == 0o100000 }

// data is the content of s, nil when the side is absent.
func (s *Side) data() []byte {
	if s == nil {
		return nil
	}
	return s.Data
}

// FilePair is one entry of a diff: the old and the new side of a path, From
// nil for an addition and To nil for a deletion. OldPath differs from
// NewPath for a rename, whose similarity (percent) is Score.
type FilePair struct {
	OldPath, NewPath string
	From, To         *Side
	Score            int
}

// IsBinary reports whether git would treat b as binary: a NUL byte in its
// first 8000 bytes.
func IsBinary(b []byte) bool {
	if len(b) > binarySniff {
		b = b[:binarySniff]
	}
	return bytes.IndexByte(b, 0) >= 0
}

// kind groups modes the way git decides a typechange: regular files
// (either exec bit), symlinks, gitlinks.
func kind(m uint32) int {
	switch m {
	case modeSymlink:
		return 1
	case modeGitlink:
		return 2
	}
	return 0
}

// WriteFilePatch writes one file's git-style patch to buf and returns its
// stat line.
func WriteFilePatch(buf *bytes.Buffer, p FilePair) factory.FileStat {
	st := factory.FileStat{Path: p.NewPath}
	if p.To == nil {
		st.Path = p.OldPath
	}
	bin := (p.From != nil && IsBinary(p.From.data())) || (p.To != nil && IsBinary(p.To.data()))
	st.Binary = bin
	switch {
	case p.From == nil:
		st.Status = factory.StatusAdded
	case p.To == nil:
		st.Status = factory.StatusDeleted
	case p.OldPath != p.NewPath:
		st.Status = factory.StatusRenamed
		st.OldPath = p.OldPath
	case kind(p.From.Mode) != kind(p.To.Mode):
		st.Status = factory.StatusType
	case p.From.Hash == p.To.Hash:
		st.Status = factory.StatusMode
	default:
		st.Status = factory.StatusModified
	}

	// A typechange is written as git does: a deletion then an addition.
	if st.Status == factory.StatusType {
		d := WriteFilePatch(buf, FilePair{OldPath: p.OldPath, NewPath: p.OldPath, From: p.From})
		a := WriteFilePatch(buf, FilePair{OldPath: p.NewPath, NewPath: p.NewPath, To: p.To})
		st.Additions, st.Deletions = d.Additions+a.Additions, d.Deletions+a.Deletions
		st.Binary = d.Binary || a.Binary
		return st
	}

	aName, bName := QuoteName("a/"+p.OldPath), QuoteName("b/"+p.NewPath)
	fmt.Fprintf(buf, "diff --git %s %s\n", aName, bName)
	switch {
	case p.From == nil:
		fmt.Fprintf(buf, "new file mode %o\n", uint32(p.To.Mode))
	case p.To == nil:
		fmt.Fprintf(buf, "deleted file mode %o\n", uint32(p.From.Mode))
	default:
		if p.From.Mode != p.To.Mode {
			fmt.Fprintf(buf, "old mode %o\nnew mode %o\n", uint32(p.From.Mode), uint32(p.To.Mode))
		}
		if p.OldPath != p.NewPath {
			fmt.Fprintf(buf, "similarity index %d%%\nrename from %s\nrename to %s\n", p.Score,
				QuoteName(p.OldPath), QuoteName(p.NewPath))
		}
	}
	oldHash, newHash := zeroID, zeroID
	if p.From != nil {
		oldHash = p.From.Hash
	}
	if p.To != nil {
		newHash = p.To.Hash
	}
	if oldHash == newHash {
		return st // a pure rename or mode change: headers only
	}
	idx := fmt.Sprintf("index %s..%s", oldHash[:7], newHash[:7])
	if p.From != nil && p.To != nil && p.From.Mode == p.To.Mode {
		idx += fmt.Sprintf(" %o", uint32(p.To.Mode))
	}
	buf.WriteString(idx + "\n")
	if bin {
		fmt.Fprintf(buf, "Binary files %s and %s differ\n", devNullOr(p.From, aName), devNullOr(p.To, bName))
		return st
	}
	if len(p.From.data()) == 0 && len(p.To.data()) == 0 {
		return st // an empty file added or deleted
	}
	fmt.Fprintf(buf, "--- %s\n+++ %s\n", tabIfSpace(devNullOr(p.From, aName)), tabIfSpace(devNullOr(p.To, bName)))
	la, lb := SplitLines(p.From.data()), SplitLines(p.To.data())
	edits := Lines(la, lb)
	for _, e := range edits {
		st.Deletions += e.A1 - e.A0
		st.Additions += e.B1 - e.B0
	}
	writeHunks(buf, la, lb, edits)
	return st
}

func devNullOr(e *Side, name string) string {
	if e == nil {
		return "/dev/null"
	}
	return name
}

// tabIfSpace appends the TAB git writes after ---/+++ names holding a space.
func tabIfSpace(name string) string {
	if strings.ContainsRune(name, ' ') {
		return name + "\t"
	}
	return name
}

// QuoteName quotes a path the way git does with core.quotePath on: names
// holding control characters, '"', '\\' or bytes >= 0x80 are written in
// double quotes with C and octal escapes.
func QuoteName(s string) string {
	need := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c == '"' || c == '\\' || c >= 0x7f {
			need = true
			break
		}
	}
	if !need {
		return s
	}
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '"', '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case '\a':
			b.WriteString(`\a`)
		case '\b':
			b.WriteString(`\b`)
		case '\t':
			b.WriteString(`\t`)
		case '\n':
			b.WriteString(`\n`)
		case '\v':
			b.WriteString(`\v`)
		case '\f':
			b.WriteString(`\f`)
		case '\r':
			b.WriteString(`\r`)
		default:
			if c < 0x20 || c >= 0x7f {
				b.WriteByte('\\')
				o := strconv.FormatInt(int64(c), 8)
				b.WriteString(strings.Repeat("0", 3-len(o)) + o)
			} else {
				b.WriteByte(c)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}

// writeHunks writes the @@ hunks of an edit script with diffContext lines
// of context, merging hunks whose contexts touch.
func writeHunks(buf *bytes.Buffer, a, b [][]byte, edits []Edit) {
	for i := 0; i < len(edits); {
		j := i
		for j+1 < len(edits) && edits[j+1].A0-edits[j].A1 <= 2*diffContext {
			j++
		}
		first, last := edits[i], edits[j]
		a0 := max(first.A0-diffContext, 0)
		a1 := min(last.A1+diffContext, len(a))
		b0 := first.B0 - (first.A0 - a0)
		b1 := last.B1 + (a1 - last.A1)
		fmt.Fprintf(buf, "@@ -%s +%s @@\n", hunkRange(a0, a1-a0), hunkRange(b0, b1-b0))
		ai := a0
		for k := i; k <= j; k++ {
			e := edits[k]
			for ; ai < e.A0; ai++ {
				writeLine(buf, ' ', a[ai])
			}
			for x := e.A0; x < e.A1; x++ {
				writeLine(buf, '-', a[x])
			}
			for y := e.B0; y < e.B1; y++ {
				writeLine(buf, '+', b[y])
			}
			ai = e.A1
		}
		for ; ai < a1; ai++ {
			writeLine(buf, ' ', a[ai])
		}
		i = j + 1
	}
}

func hunkRange(start, n int) string {
	switch n {
	case 0:
		return fmt.Sprintf("%d,0", start)
	case 1:
		return strconv.Itoa(start + 1)
	}
	return fmt.Sprintf("%d,%d", start+1, n)
}

func writeLine(buf *bytes.Buffer, prefix byte, l []byte) {
	buf.WriteByte(prefix)
	buf.Write(l)
	if len(l) == 0 || l[len(l)-1] != '\n' {
		buf.WriteString("\n\\ No newline at end of file\n")
	}
}
