package invariants

import (
	"strings"

	"github.com/bluekeyes/go-gitdiff/gitdiff"
)

// ReversePatch returns the patch that undoes text: applied to a tree that
// already holds text's change, it gives back the tree text applies to. A
// patch that does not apply is often one that is already applied (an agent
// that edited with its own tools, then sent the diff); dry-running the
// reverse tells the two apart. ok is false when the patch cannot be
// reversed here (it does not parse, is binary or copies a file): callers
// then report the conflict as it is.
func ReversePatch(text string) (string, bool) {
	files, _, err := gitdiff.Parse(strings.NewReader(text))
	if err != nil || len(files) == 0 {
		return "", false
	}
	// A git diff's names come without a/ and b/; a traditional one's come
	// as written, the new name on both sides: drop the usual prefixes, as
	// the patch engine does, so the reverse names the same files.
	traditional := !strings.Contains(text, "diff --git ")
	prefixed := traditional && strings.Contains(text, "\n+++ b/") && (strings.HasPrefix(text, "--- a/") || strings.Contains(text, "\n--- a/"))
	name := func(n string) string {
		if prefixed {
			if rest, ok := strings.CutPrefix(n, "a/"); ok {
				return rest
			}
			return strings.TrimPrefix(n, "b/")
		}
		return n
	}
	var b strings.Builder
	for _, f := range files {
		if f.IsBinary || f.IsCopy {
			return "", false
		}
		r := *f
		r.OldName, r.NewName = name(f.NewName), name(f.OldName)
		r.IsNew, r.IsDelete = f.IsDelete, f.IsNew
		r.OldMode, r.NewMode = f.NewMode, f.OldMode
		r.OldOIDPrefix, r.NewOIDPrefix = "", ""
		r.TextFragments = make([]*gitdiff.TextFragment, len(f.TextFragments))
		for i, frag := range f.TextFragments {
			r.TextFragments[i] = reverseFragment(frag)
		}
		b.WriteString(r.String())
	}
	return b.String(), true
}

// reverseFragment swaps a hunk's sides; within each run of changed lines
// the (now) deleted lines come first, as diff tools write them.
func reverseFragment(f *gitdiff.TextFragment) *gitdiff.TextFragment {
	r := *f
	r.OldPosition, r.NewPosition = f.NewPosition, f.OldPosition
	r.OldLines, r.NewLines = f.NewLines, f.OldLines
	r.LinesAdded, r.LinesDeleted = f.LinesDeleted, f.LinesAdded
	r.Lines = make([]gitdiff.Line, 0, len(f.Lines))
	var dels, adds []gitdiff.Line
	flush := func() {
		r.Lines = append(append(r.Lines, dels...), adds...)
		dels, adds = nil, nil
	}
	for _, l := range f.Lines {
		switch l.Op {
		case gitdiff.OpAdd:
			dels = append(dels, gitdiff.Line{Op: gitdiff.OpDelete, Line: l.Line})
		case gitdiff.OpDelete:
			adds = append(adds, gitdiff.Line{Op: gitdiff.OpAdd, Line: l.Line})
		default:
			flush()
			r.Lines = append(r.Lines, l)
		}
	}
	flush()
	return &r
}
