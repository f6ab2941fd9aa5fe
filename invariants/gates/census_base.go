package gates

import (
	"path"
	"strings"

	"github.com/factory-dev/factory"
)

// patchFile is one file's section of a unified diff: its hunks, each with
// the new side's first line and length and the old side's lines.
type patchFile struct {
	hunks []patchHunk
}

type patchHunk struct {
	newStart, newN int
	old            []string // context and removed lines, in order
}

// patchFiles splits a unified diff into its files' hunks, keyed by the new
// path, or by the old one for a deleted file. Like AddedLines, it follows
// the hunk headers' counts.
func patchFiles(patch string) map[string]*patchFile {
	out := map[string]*patchFile{}
	var (
		cur              *patchFile
		oldPath          string
		oldLeft, newLeft int
	)
	for _, line := range strings.Split(patch, "\n") {
		if oldLeft > 0 || newLeft > 0 {
			h := &cur.hunks[len(cur.hunks)-1]
			switch {
			case strings.HasPrefix(line, "+"):
				newLeft--
			case strings.HasPrefix(line, "-"):
				h.old = append(h.old, line[1:])
				oldLeft--
			case strings.HasPrefix(line, `\`):
			default:
				h.old = append(h.old, strings.TrimPrefix(line, " "))
				oldLeft--
				newLeft--
			}
			continue
		}
		switch {
		case strings.HasPrefix(line, "diff "):
			cur, oldPath = nil, ""
		case strings.HasPrefix(line, "--- "):
			oldPath = strings.TrimPrefix(diffPath(strings.TrimPrefix(line, "--- ")), "a/")
		case strings.HasPrefix(line, "+++ "):
			key := diffPath(strings.TrimPrefix(line, "+++ "))
			if key == "" {
				key = oldPath
			}
			cur = &patchFile{}
			out[key] = cur
		case strings.HasPrefix(line, "@@ ") && cur != nil:
			o, n, start := hunkCounts(line)
			cur.hunks = append(cur.hunks, patchHunk{newStart: start, newN: n})
			oldLeft, newLeft = o, n
		}
	}
	return out
}

// unapply rebuilds a file's old content from its new content and hunks.
func (pf *patchFile) unapply(cur []byte) []byte {
	lines := strings.SplitAfter(string(cur), "\n")
	if len(lines) > 0 && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	var b strings.Builder
	pos := 0
	for _, h := range pf.hunks {
		start := h.newStart - 1
		if h.newN == 0 {
			start = h.newStart // "+k,0": the removed lines follow new line k
		}
		for ; pos < start && pos < len(lines); pos++ {
			b.WriteString(lines[pos])
		}
		for _, l := range h.old {
			b.WriteString(l + "\n")
		}
		pos = start + h.newN
	}
	for ; pos < len(lines); pos++ {
		b.WriteString(lines[pos])
	}
	return []byte(b.String())
}

// BaseFiles rebuilds the base's version of the Go files (and go.mod files)
// the change touched, from the result's files (read) and the diff: nil for
// a file the base does not have. Files the diff shows no hunks for (pure
// renames, mode changes) keep the result's content.
func BaseFiles(d *DiffFacts, read func(string) ([]byte, error)) map[string][]byte {
	goFile := func(p string) bool { return strings.HasSuffix(p, ".go") || path.Base(p) == "go.mod" }
	files := map[string]*patchFile{}
	if d.patch != "" {
		files = patchFiles(d.patch)
	}
	old := func(p, oldPath string) []byte {
		cur, err := read(p)
		if err != nil {
			cur = nil
		}
		pf := files[p]
		if pf == nil {
			pf = files[oldPath]
		}
		if pf == nil {
			return cur
		}
		return pf.unapply(cur)
	}
	out := map[string][]byte{}
	for _, f := range d.stats {
		switch f.Status {
		case factory.StatusAdded, factory.StatusCopied:
			if goFile(f.Path) {
				out[f.Path] = nil
			}
		case factory.StatusDeleted:
			if goFile(f.Path) {
				out[f.Path] = old(f.Path, f.Path)
			}
		case factory.StatusRenamed:
			if goFile(f.Path) {
				out[f.Path] = nil
			}
			if goFile(f.OldPath) {
				out[f.OldPath] = old(f.Path, f.OldPath)
			}
		default:
			if goFile(f.Path) {
				out[f.Path] = old(f.Path, f.Path)
			}
		}
	}
	return out
}
