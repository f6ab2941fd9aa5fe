package patch

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bluekeyes/go-gitdiff/gitdiff"
	"github.com/factory-dev/factory/internal/gittest"
	"github.com/factory-dev/factory/sandbox/patch/hunks"
	"github.com/stretchr/testify/require"
)

// lineByLine applies f's hunks with the line-by-line applier alone, each
// at its own line (offset true: anywhere).
func lineByLine(base []byte, f *gitdiff.File, offset bool) ([]byte, bool) {
	r := hunks.LineByLine(base, f, hunks.Options{File: "f", Header: func(int) string { return "" }})
	return r.Data, len(r.Conflicts) == 0 && (offset || len(r.Offsets) == 0)
}

// TestExactIsTheLineByLineResult compares the one-pass applier with
// the line-by-line one on git's diffs of random edits (CRLF files, files
// without a final newline, hunks at either end included), and on the same
// diffs against files shifted by a few lines: where the one-pass applier
// answers, the bytes are the same; it answers for most in-place edits,
// and never for a hunk that does not sit at its own line.
func TestExactIsTheLineByLineResult(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 11))
	answered, refusedShifted := 0, 0
	for round := 0; round < 12; round++ {
		base := genTree(r, 20)
		edited := editTree(r, base)
		repo := editedRepo(t, base, edited)
		files, _, err := gitdiff.Parse(strings.NewReader(gittest.Run(t, repo, "diff", "--cached", "HEAD")))
		require.NoError(t, err)
		for _, f := range files {
			if f.IsNew || f.IsDelete || f.IsRename || len(f.TextFragments) == 0 {
				continue
			}
			orig := base[f.OldName].bytes()
			got, ok := hunks.Exact(orig, f, nil)
			want, wok := lineByLine(orig, f, false)
			require.True(t, wok, "%s: git's own diff does not apply in place", f.OldName)
			if ok {
				answered++
				require.Equal(t, string(want), string(got), "round %d %s", round, f.OldName)
				require.Equal(t, string(edited[f.NewName].bytes()), string(got), "round %d %s", round, f.OldName)
			}
			shifted := base[f.OldName].clone()
			shifted.lines = append([]string{"shifted in"}, shifted.lines...)
			if got, ok := hunks.Exact(shifted.bytes(), f, nil); ok {
				want, _ := lineByLine(shifted.bytes(), f, true)
				require.Equal(t, string(want), string(got), "round %d %s shifted", round, f.OldName)
			} else {
				refusedShifted++
			}
		}
	}
	t.Logf("answered %d, refused shifted %d", answered, refusedShifted)
	require.Greater(t, answered, 40, "the one-pass applier answered for too few in-place edits")
	require.Greater(t, refusedShifted, 40, "the one-pass applier answered for shifted files")
}

// TestSectionsOfOneFileApplyInTurn: a path named by two sections, or by a
// rename, is applied in patch order (each section on what the one before
// left), never from the content read ahead.
func TestSectionsOfOneFileApplyInTurn(t *testing.T) {
	w := newAdvWorkspace(t)
	second := "--- a/f.txt\n+++ b/f.txt\n@@ -4,5 +4,5 @@\n line 4\n line 5\n-line 6\n+line six\n line 7\n line 8\n"
	moved := "diff --git a/f.txt b/g.txt\nsimilarity index 90%\nrename from f.txt\nrename to g.txt\n" +
		"--- a/f.txt\n+++ b/g.txt\n@@ -7,4 +7,4 @@\n line 7\n line 8\n-line 9\n+line nine\n line 10\n"
	root, err := os.OpenRoot(w.dir)
	require.NoError(t, err)
	defer root.Close()
	rep, err := Apply(t.Context(), root, editF+second+moved, Options{})
	require.NoError(t, err, "%+v", rep.Conflicts)
	got, err := os.ReadFile(filepath.Join(w.dir, "g.txt"))
	require.NoError(t, err)
	require.Equal(t, "line 1\nline two\nline 3\nline 4\nline 5\nline six\nline 7\nline 8\nline nine\nline 10\n", string(got))
	_, err = os.Stat(filepath.Join(w.dir, "f.txt"))
	require.ErrorIs(t, err, os.ErrNotExist)
}
