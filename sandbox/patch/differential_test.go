package patch

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/bluekeyes/go-gitdiff/gitdiff"
	"github.com/factory-dev/factory/internal/gittest"
	"github.com/stretchr/testify/require"
)

var (
	diffSeed   = flag.Uint64("diff.seed", 20261121, "seed of the differential test")
	diffRounds = flag.Int("diff.rounds", 6, "rounds of the differential test")
)

// genTree makes a random workspace: files in a few directories, lines from
// a small vocabulary (so hunks have look-alike places), some CRLF files,
// some without a final newline, some executable.
func genTree(r *rand.Rand, files int) map[string]*genFile {
	vocab := []string{"{", "}", "return nil", "if err != nil {", "\treturn err", "x := 1", "", "// comment", "fmt.Println(x)", "end"}
	dirs := []string{"", "cmd/", "pkg/a/", "pkg/b/", "docs/"}
	out := map[string]*genFile{}
	for i := 0; i < files; i++ {
		name := fmt.Sprintf("%sf%02d.txt", dirs[r.IntN(len(dirs))], i)
		f := &genFile{crlf: r.IntN(8) == 0, exec: r.IntN(10) == 0}
		n := 5 + r.IntN(80)
		for j := 0; j < n; j++ {
			if r.IntN(3) == 0 {
				f.lines = append(f.lines, vocab[r.IntN(len(vocab))])
			} else {
				f.lines = append(f.lines, fmt.Sprintf("line %d of %s %d", j, name, r.IntN(1000)))
			}
		}
		f.noEOL = r.IntN(8) == 0
		out[name] = f
	}
	return out
}

type genFile struct {
	lines       []string
	crlf, noEOL bool
	exec        bool
}

func (f *genFile) bytes() []byte {
	eol := "\n"
	if f.crlf {
		eol = "\r\n"
	}
	s := strings.Join(f.lines, eol)
	if !f.noEOL && len(f.lines) > 0 {
		s += eol
	}
	return []byte(s)
}

func (f *genFile) clone() *genFile {
	c := *f
	c.lines = append([]string(nil), f.lines...)
	return &c
}

func writeTree(t testing.TB, dir string, files map[string]*genFile) {
	for name, f := range files {
		p := filepath.Join(dir, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		mode := os.FileMode(0o644)
		if f.exec {
			mode = 0o755
		}
		require.NoError(t, os.WriteFile(p, f.bytes(), mode))
		require.NoError(t, os.Chmod(p, mode))
	}
}

// editTree applies random edits: line replacements, insertions and
// deletions, new files, deleted files, renames and mode changes.
func editTree(r *rand.Rand, files map[string]*genFile) map[string]*genFile {
	out := map[string]*genFile{}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		out[n] = files[n].clone()
	}
	for _, n := range names {
		f := out[n]
		switch k := r.IntN(20); {
		case k < 8:
			for e := 0; e < 1+r.IntN(4); e++ {
				if len(f.lines) == 0 {
					break
				}
				i := r.IntN(len(f.lines))
				switch r.IntN(3) {
				case 0:
					f.lines[i] = fmt.Sprintf("edited %d", r.IntN(1e6))
				case 1:
					f.lines = append(f.lines[:i], append([]string{fmt.Sprintf("inserted %d", r.IntN(1e6))}, f.lines[i:]...)...)
				case 2:
					f.lines = append(f.lines[:i], f.lines[i+1:]...)
				}
			}
			if r.IntN(10) == 0 {
				f.noEOL = !f.noEOL
			}
		case k == 8:
			delete(out, n)
		case k == 9:
			delete(out, n)
			f.lines[0] = "renamed and edited"
			out[strings.TrimSuffix(n, ".txt")+"-moved.txt"] = f
		case k == 10:
			f.exec = !f.exec
		}
	}
	for i := 0; i < r.IntN(3); i++ {
		out[fmt.Sprintf("new/n%d.txt", i)] = &genFile{lines: []string{"brand", "new", fmt.Sprint(r.IntN(100))}}
	}
	return out
}

var hunkHeaderRE = regexp.MustCompile(`(?m)^@@ -(\d+),(\d+) \+(\d+),(\d+) @@`)

// miscount changes the counts of hunk headers at random (never to zero).
func miscount(r *rand.Rand, p string) string {
	return hunkHeaderRE.ReplaceAllStringFunc(p, func(h string) string {
		m := hunkHeaderRE.FindStringSubmatch(h)
		if r.IntN(2) == 0 {
			return h
		}
		var o, n int
		fmt.Sscan(m[2], &o)
		fmt.Sscan(m[4], &n)
		o = max(1, o+r.IntN(7)-3)
		n = max(1, n+r.IntN(7)-3)
		return fmt.Sprintf("@@ -%s,%d +%s,%d @@", m[1], o, m[3], n)
	})
}

// shiftable lists files a patch modifies whose first hunk starts after
// line 1 (git anchors hunks at line 1 to the start of the file).
func shiftable(t testing.TB, p string) []string {
	files, _, err := gitdiff.Parse(strings.NewReader(p))
	require.NoError(t, err)
	var out []string
	for _, f := range files {
		if f.IsNew || f.IsDelete || f.IsRename || len(f.TextFragments) == 0 || f.TextFragments[0].OldPosition <= 1 {
			continue
		}
		out = append(out, f.OldName)
	}
	return out
}

// editedRepo returns a repository whose HEAD holds base and whose index
// holds edited.
func editedRepo(t *testing.T, base, edited map[string]*genFile) string {
	repo := t.TempDir()
	writeTree(t, repo, base)
	gittest.Run(t, repo, "init", "-q")
	gittest.Run(t, repo, "config", "core.autocrlf", "false")
	gittest.Run(t, repo, "add", "-A")
	gittest.Run(t, repo, "commit", "-qm", "base")
	for n := range base {
		require.NoError(t, os.Remove(filepath.Join(repo, n)))
	}
	writeTree(t, repo, edited)
	gittest.Run(t, repo, "add", "-A")
	return repo
}

// TestDifferential compares factory with `git apply` on random edits of
// random trees: the git diff itself, its --no-prefix form (git apply -p0),
// a miscounted form (git apply --recount), and the diff applied to trees
// where lines were inserted above the hunks (offsets). Both must produce
// identical trees (content, symlinks, executable bits).
func TestDifferential(t *testing.T) {
	if testing.Short() {
		t.Skip("differential test runs git many times")
	}
	r := rand.New(rand.NewPCG(*diffSeed, 1))
	deadline := time.Now().Add(25 * time.Second)
	for round := 0; round < *diffRounds && time.Now().Before(deadline); round++ {
		base := genTree(r, 12+r.IntN(12))
		edited := editTree(r, base)

		repo := editedRepo(t, base, edited)
		plain := gittest.Run(t, repo, "diff", "--cached", "-M", "HEAD")
		noPrefix := gittest.Run(t, repo, "diff", "--cached", "-M", "--no-prefix", "HEAD")
		require.NotEmpty(t, plain)

		variants := []struct {
			name    string
			patch   string
			gitArgs []string
			shift   []string
		}{
			{"git diff", plain, nil, nil},
			{"no prefix", noPrefix, []string{"-p0"}, nil},
			{"miscounted", miscount(r, plain), []string{"--recount"}, nil},
			{"shifted", plain, nil, shiftable(t, plain)},
		}
		for _, v := range variants {
			name := fmt.Sprintf("round %d %s", round, v.name)
			tree := base
			if len(v.shift) > 0 {
				tree = map[string]*genFile{}
				for n, f := range base {
					tree[n] = f
				}
				for _, n := range v.shift {
					f := tree[n].clone()
					k := 1 + r.IntN(5)
					for i := 0; i < k; i++ {
						f.lines = append([]string{fmt.Sprintf("shifted in %d", i)}, f.lines...)
					}
					tree[n] = f
				}
			}
			mine, theirs := t.TempDir(), t.TempDir()
			writeTree(t, mine, tree)
			writeTree(t, theirs, tree)
			gittest.Run(t, theirs, "init", "-q")
			pf := filepath.Join(t.TempDir(), "p.diff")
			require.NoError(t, os.WriteFile(pf, []byte(v.patch), 0o644))
			gout, gerr := gittest.Cmd(theirs, "", append(append([]string{"apply"}, v.gitArgs...), pf)...)
			require.NoError(t, gerr, "%s: git apply: %s", name, gout)

			root, err := os.OpenRoot(mine)
			require.NoError(t, err)
			rep, err := Apply(context.Background(), root, v.patch, Options{})
			root.Close()
			require.NoError(t, err, "%s: %+v", name, rep.Conflicts)
			require.True(t, rep.Applied)
			require.Equal(t, dumpTree(t, theirs), dumpTree(t, mine), "%s: factory and git apply disagree", name)
			if v.name == "shifted" {
				offsets := 0
				for _, f := range rep.Files {
					offsets += len(f.Offsets)
				}
				require.Equal(t, len(v.shift) > 0, offsets > 0, "%s: offsets expected in the report", name)
			}
			if v.name == "miscounted" && v.patch != plain {
				require.NotEmpty(t, rep.Notes, "%s: recounts must be reported", name)
			}
		}
	}
}
