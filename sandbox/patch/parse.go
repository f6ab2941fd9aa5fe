package patch

import (
	"bufio"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/bluekeyes/go-gitdiff/gitdiff"
	"github.com/factory-dev/factory"
	"github.com/factory-dev/factory/sandbox/patch/hunks"
)

// DefaultMaxPatchBytes is the size limit on patch text when Options leaves
// MaxPatchBytes at zero.
const DefaultMaxPatchBytes = 16 << 20

// filePatch is one file section of a patch, with resolved paths.
type filePatch struct {
	f        *gitdiff.File
	line     int    // 1-based patch line of the file header
	oldPath  string // "" when the file is new
	newPath  string // "" when the file is deleted
	hunks    []hunkAt
	seg      *segment
	stripped bool        // a traditional header's unusual prefixes were stripped
	created  bool        // a traditional patch creating a file without /dev/null
	early    *textResult // the hunks applied while the file was read (prefetch)
}

// parsed is a whole patch.
type parsed struct {
	files []*filePatch
	notes []string
}

var gitdiffErr = regexp.MustCompile(`^gitdiff: line (\d+): (.*)$`)

// existsFunc reports whether a path exists in the tree; nil means unknown.
type existsFunc func(string) bool

// parse reads text into file patches. It returns EINVALID for anything that
// is not a well-formed, safe patch, with the patch line in the message.
func parse(text string, maxBytes int, exists existsFunc) (*parsed, error) {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxPatchBytes
	}
	if len(text) > maxBytes {
		return nil, factory.Errorf(factory.EINVALID, "patch is %d bytes, larger than the %d byte limit; split it into smaller patches", len(text), maxBytes)
	}
	var notes []string
	if strings.IndexByte(text, 0) >= 0 {
		line := strings.Count(text[:strings.IndexByte(text, 0)], "\n") + 1
		return nil, factory.Errorf(factory.EINVALID, "patch line %d: contains a NUL byte; patches are text (binary files need git diff --binary)", line)
	}
	if hunks.IsCRLF(text) {
		text = strings.ReplaceAll(text, "\r\n", "\n")
		notes = append(notes, "the patch had CRLF line endings; it was read as LF (each file keeps its own line endings)")
	}
	if text != "" && !strings.HasSuffix(text, "\n") {
		text += "\n"
	}
	pp, err := runPrepass(text)
	if err != nil {
		return nil, err
	}
	if len(pp.segments) == 0 {
		if i := firstHunk(pp.lines); i >= 0 {
			if _, ok, _ := parseHunkHeader(pp.lines[i]); !ok {
				return nil, factory.Errorf(factory.EINVALID,
					"patch line %d: hunk header %q is malformed; write it as @@ -start,count +start,count @@ (line numbers of the old and new file)",
					i+1, strings.TrimSuffix(pp.lines[i], "\n"))
			}
			return nil, factory.Errorf(factory.EINVALID, "patch line %d: hunk without a file header (add the --- a/path and +++ b/path lines before it)", i+1)
		}
		return nil, factory.Errorf(factory.EINVALID, "patch contains no file changes (expected a unified diff with ---/+++ or diff --git headers)")
	}
	if i := firstHunk(pp.lines[:pp.segments[0].start]); i >= 0 {
		return nil, factory.Errorf(factory.EINVALID, "patch line %d: hunk without a file header (add the --- a/path and +++ b/path lines before it)", i+1)
	}
	notes = append(notes, pp.notes...)
	// Segments are independent: go-gitdiff reads them in parallel, and the
	// first error in patch order is the one reported, as when read in turn.
	fps := make([]*filePatch, len(pp.segments))
	if err := parallelErr(len(pp.segments), func(i int) error {
		var err error
		fps[i], err = parseSegment(pp, pp.segments[i], exists)
		return err
	}); err != nil {
		return nil, err
	}
	out := &parsed{files: fps}
	for i, seg := range pp.segments {
		fp := fps[i]
		for k, h := range seg.hunks {
			if h.recounted {
				notes = append(notes, fmt.Sprintf("%s hunk %d (patch line %d): header %q miscounts its lines; recounted from the body as %q",
					fp.name(), k+1, h.line, h.header, h.fixed))
			}
		}
		if seg.noPrefix {
			notes = append(notes, fmt.Sprintf("%s: paths have no a/ b/ prefixes (as from git diff --no-prefix); used as written", fp.name()))
		}
		if fp.stripped {
			notes = append(notes, fmt.Sprintf("%s: stripped the first directory of the --- and +++ names (%s, %s): that path exists", fp.name(), fp.seg.rawOld, fp.seg.rawNew))
		}
	}
	out.notes = notes
	if err := checkPaths(out.files); err != nil {
		return nil, err
	}
	return out, nil
}

func firstHunk(lines []string) int {
	for i, l := range lines {
		if strings.HasPrefix(l, "@@") {
			return i
		}
	}
	return -1
}

func (fp *filePatch) name() string {
	if fp.newPath != "" {
		return fp.newPath
	}
	return fp.oldPath
}

var readers = sync.Pool{New: func() any { return bufio.NewReader(nil) }}

// linesReader reads lines as one text, without joining them first.
type linesReader struct {
	lines []string
	off   int // bytes of lines[0] already read
}

func (r *linesReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) && len(r.lines) > 0 {
		c := copy(p[n:], r.lines[0][r.off:])
		n, r.off = n+c, r.off+c
		if r.off == len(r.lines[0]) {
			r.lines, r.off = r.lines[1:], 0
		}
	}
	if n == 0 && len(p) > 0 {
		return 0, io.EOF
	}
	return n, nil
}

// parseSegment hands one segment to go-gitdiff and resolves its paths.
func parseSegment(pp *prepass, seg *segment, exists existsFunc) (*filePatch, error) {
	// go-gitdiff reads through a bufio.Reader of the default size, and
	// takes one it is given as is: reusing them spares 4 KB per file.
	br := readers.Get().(*bufio.Reader)
	br.Reset(&linesReader{lines: pp.lines[seg.start:seg.end]})
	files, _, err := gitdiff.Parse(br)
	br.Reset(nil)
	readers.Put(br)
	if err != nil {
		return nil, gitdiffError(err, seg.start)
	}
	if len(files) != 1 {
		return nil, factory.Errorf(factory.EINVALID, "patch line %d: could not read a file header here", seg.start+1)
	}
	f := files[0]
	if len(f.TextFragments) != len(seg.hunks) {
		return nil, factory.Errorf(factory.EINVALID, "patch line %d: %d hunk headers found but %d hunks readable; check the lines between hunks",
			seg.start+1, len(seg.hunks), len(f.TextFragments))
	}
	fp := &filePatch{f: f, line: seg.start + 1, hunks: seg.hunks, seg: seg}
	if err := fp.resolve(exists); err != nil {
		return nil, err
	}
	return fp, nil
}

// gitdiffError turns a go-gitdiff parse error into EINVALID with the line
// number of the caller's patch.
func gitdiffError(err error, offset int) error {
	msg := err.Error()
	if m := gitdiffErr.FindStringSubmatch(msg); m != nil {
		n, _ := strconv.Atoi(m[1])
		return factory.Errorf(factory.EINVALID, "patch line %d: %s", n+offset, m[2])
	}
	return factory.Errorf(factory.EINVALID, "patch near line %d: %s", offset+1, strings.TrimPrefix(msg, "gitdiff: "))
}

func stripOne(p string) string {
	if i := strings.IndexByte(p, '/'); i >= 0 {
		return p[i+1:]
	}
	return p
}

// resolve sets oldPath and newPath. Git headers use go-gitdiff's names (the
// pre-pass made them prefixed). Traditional headers are resolved here: a/ b/
// prefixes are stripped when the stripped path exists (or the file is new);
// otherwise the first candidate that exists wins.
func (fp *filePatch) resolve(exists existsFunc) error {
	f := fp.f
	if fp.seg.git {
		if !f.IsNew {
			fp.oldPath = f.OldName
		}
		if !f.IsDelete {
			fp.newPath = f.NewName
		}
		// Check the unstripped remainder too: go-gitdiff collapses "//",
		// which would hide "a//etc/passwd".
		for _, raw := range []string{fp.seg.rawOld, fp.seg.rawNew} {
			if raw != "" && raw != "/dev/null" && !fp.seg.noPrefix {
				if err := checkPath(stripOne(raw)); err != nil {
					return pathError(fp.line, stripOne(raw), err)
				}
			}
		}
		return nil
	}
	o, n := fp.seg.rawOld, fp.seg.rawNew
	for _, raw := range []string{o, n} {
		if raw == "/dev/null" {
			continue
		}
		if err := checkPath(raw); err != nil {
			return pathError(fp.line, raw, err)
		}
	}
	prefixed := isPrefixed(o, n)
	has := func(p string) bool { return exists != nil && exists(p) }
	// Stripping a/ and b/ is the norm; stripping anything else is noted.
	defer func() {
		if fp.stripped && (o == "/dev/null" || strings.HasPrefix(o, "a/")) && (n == "/dev/null" || strings.HasPrefix(n, "b/")) {
			fp.stripped = false
		}
	}()
	switch {
	case f.IsNew:
		fp.newPath = n
		if prefixed {
			fp.newPath, fp.stripped = stripOne(n), true
		}
	case f.IsDelete:
		fp.oldPath = o
		if prefixed && (!has(o) || has(stripOne(o))) {
			fp.oldPath, fp.stripped = stripOne(o), true
		}
	default:
		var cands []string
		if prefixed {
			cands = []string{stripOne(n), stripOne(o), n, o}
		} else if strings.HasPrefix(n, o) {
			// go-gitdiff's rule: "x" and "x.orig"/"x~" mean x.
			cands = []string{o, n, stripOne(o), stripOne(n)}
		} else {
			cands = []string{n, o, stripOne(n), stripOne(o)}
		}
		pick := cands[0]
		for _, c := range cands {
			if has(c) {
				pick = c
				break
			}
		}
		fp.oldPath, fp.newPath = pick, pick
		fp.stripped = pick != o && pick != n
	}
	return nil
}
