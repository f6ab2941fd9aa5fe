package tools

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/factory-dev/factory"
)

type fileReadArgs struct {
	Path      string `json:"path" jsonschema:"file path relative to the workspace root"`
	At        string `json:"at,omitempty" jsonschema:"snapshot id, revision, or live; default HEAD"`
	StartLine int    `json:"start_line,omitempty" jsonschema:"first line, 1-based"`
	EndLine   int    `json:"end_line,omitempty" jsonschema:"last line, inclusive"`
}

type fileReadResult struct {
	Path       string `json:"path"`
	At         string `json:"at"` // the snapshot id or commit hash read
	StartLine  int    `json:"start_line"`
	EndLine    int    `json:"end_line"`
	TotalLines int    `json:"total_lines"`
	Text       string `json:"text"`
	Note       string `json:"note,omitempty"`
}

// maxFileText caps the text file_read returns: a whole generated file
// would cost an agent's context for nothing; a line range reads the rest.
const maxFileText = 64 << 10

func fileRead(d Deps) Tool {
	return defineRecording(d, "file_read",
		"Read a file, or a line range, as it is in a snapshot, a git revision or the live tree, without touching the index, HEAD or the working tree.",
		annotations{title: "Read a file at a revision", readOnly: true, idempotent: true},
		func(ctx context.Context, a fileReadArgs) (fileReadResult, records, error) {
			if a.Path == "" {
				return fileReadResult{}, records{}, factory.Errorf(factory.EINVALID, "path is required: a file path relative to the workspace root, like src/main.go")
			}
			if a.StartLine < 0 || a.EndLine < 0 || (a.EndLine > 0 && a.EndLine < a.StartLine) {
				return fileReadResult{}, records{}, factory.Errorf(factory.EINVALID, "lines %d-%d: give 1-based start_line <= end_line", a.StartLine, a.EndLine)
			}
			at := strings.TrimSpace(a.At)
			var recs records
			switch at {
			case "":
				at = "HEAD"
			case "live":
				s, err := d.Workspace.Snapshot(ctx, "")
				if err != nil {
					return fileReadResult{}, records{}, err
				}
				if !s.Reused {
					recs.snapshots = []factory.Snapshot{s}
				}
				at = s.ID
			}
			data, read, err := d.Workspace.ReadTreeFile(ctx, at, a.Path)
			if err != nil {
				return fileReadResult{}, records{}, err
			}
			res, err := sliceLines(data, a.StartLine, a.EndLine)
			res.Path, res.At = a.Path, read
			return res, recs, err
		})
}

// sliceLines returns lines start..end (1-based, inclusive; 0 means the
// first or the last) of a text file, cut at maxFileText bytes with a note.
// A binary file (NUL bytes or invalid UTF-8) is refused: its bytes are no
// use to an agent as text.
func sliceLines(data []byte, start, end int) (fileReadResult, error) {
	if bytes.IndexByte(data, 0) >= 0 || !utf8.Valid(data) {
		return fileReadResult{}, factory.Errorf(factory.EINVALID, "the file is binary (%d bytes); file_read returns text only", len(data))
	}
	lines := strings.SplitAfter(string(data), "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	total := len(lines)
	if start == 0 {
		start = 1
	}
	if end == 0 || end > total {
		end = total
	}
	if start > total && total > 0 || start > 1 && total == 0 {
		return fileReadResult{}, factory.Errorf(factory.EINVALID, "start_line %d is past the end: the file has %d lines", start, total)
	}
	res := fileReadResult{StartLine: start, EndLine: end, TotalLines: total}
	var b strings.Builder
	for i := start; i <= end; i++ {
		if b.Len()+len(lines[i-1]) > maxFileText {
			res.EndLine = i - 1
			res.Note = fmt.Sprintf("cut at %d KB after line %d; read the rest with start_line %d", maxFileText>>10, i-1, i)
			break
		}
		b.WriteString(lines[i-1])
	}
	res.Text = b.String()
	if total == 0 {
		res.StartLine, res.EndLine = 0, 0
	}
	return res, nil
}
