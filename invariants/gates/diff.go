package gates

import (
	"sort"
	"strconv"
	"strings"

	"github.com/factory-dev/factory"
)

// BuildDiffFacts turns file stats and a unified diff into DiffFacts.
func BuildDiffFacts(files []factory.FileStat, patch string) *DiffFacts {
	d := &DiffFacts{Paths: []string{}, Added: []string{}, Modified: []string{}, Deleted: []string{}, Renamed: []string{}}
	seen := map[string]bool{}
	touch := func(p string) {
		if p != "" && !seen[p] {
			seen[p] = true
			d.Paths = append(d.Paths, p)
		}
	}
	for _, f := range files {
		d.Files++
		d.LinesAdded += f.Additions
		d.LinesDeleted += f.Deletions
		touch(f.OldPath)
		touch(f.Path)
		d.stats = append(d.stats, FileChange{Path: f.Path, OldPath: f.OldPath, Status: f.Status, Additions: f.Additions, Deletions: f.Deletions})
		switch f.Status {
		case factory.StatusAdded, factory.StatusCopied:
			d.Added = append(d.Added, f.Path)
		case factory.StatusDeleted:
			d.Deleted = append(d.Deleted, f.Path)
		case factory.StatusRenamed:
			d.Renamed = append(d.Renamed, f.OldPath+" -> "+f.Path)
		default:
			d.Modified = append(d.Modified, f.Path)
		}
	}
	sort.Strings(d.Paths)
	d.lines = AddedLines(patch)
	d.patch = patch
	return d
}

// AddedLines extracts the added lines of a unified diff with their new
// line numbers. It follows hunk headers' counts, so a "+++" inside a hunk is
// an added line, not a header.
func AddedLines(patch string) []AddedLine {
	var (
		out              []AddedLine
		file             string
		oldLeft, newLeft int
		newLine          int
	)
	for _, line := range strings.Split(patch, "\n") {
		if oldLeft > 0 || newLeft > 0 {
			switch {
			case strings.HasPrefix(line, "+"):
				if file != "" {
					out = append(out, AddedLine{Path: file, Line: newLine, Text: line[1:]})
				}
				newLine++
				newLeft--
			case strings.HasPrefix(line, "-"):
				oldLeft--
			case strings.HasPrefix(line, `\`):
			default: // context, including an empty line for an empty context line
				oldLeft--
				newLeft--
				newLine++
			}
			continue
		}
		switch {
		case strings.HasPrefix(line, "diff "):
			file = ""
		case strings.HasPrefix(line, "+++ "):
			file = diffPath(strings.TrimPrefix(line, "+++ "))
		case strings.HasPrefix(line, "@@ "):
			var o, n int
			o, n, newLine = hunkCounts(line)
			oldLeft, newLeft = o, n
		}
	}
	return out
}

// diffPath reads a "+++" header path: "b/x", "\"b/x y\"", "/dev/null".
func diffPath(s string) string {
	s = strings.TrimRight(s, "\r")
	if i := strings.IndexByte(s, '\t'); i >= 0 && !strings.HasPrefix(s, `"`) {
		s = s[:i]
	}
	if strings.HasPrefix(s, `"`) {
		if u, err := strconv.Unquote(s); err == nil {
			s = u
		}
	}
	if s == "/dev/null" {
		return ""
	}
	if strings.HasPrefix(s, "b/") {
		return s[2:]
	}
	return s
}

// hunkCounts parses "@@ -a,b +c,d @@" into the old and new line counts and
// the first new line number.
func hunkCounts(h string) (oldN, newN, newStart int) {
	f := strings.Fields(h)
	if len(f) < 3 {
		return 0, 0, 0
	}
	parse := func(s string) (start, n int) {
		s = s[1:]
		n = 1
		if i := strings.IndexByte(s, ','); i >= 0 {
			n, _ = strconv.Atoi(s[i+1:])
			s = s[:i]
		}
		start, _ = strconv.Atoi(s)
		return start, n
	}
	_, oldN = parse(f[1])
	newStart, newN = parse(f[2])
	return oldN, newN, newStart
}
