package textdiff

import (
	"errors"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func numbered(prefix string, n int) string {
	var b strings.Builder
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "%s %d\n", prefix, i)
	}
	return b.String()
}

// gitMergeFileStatus runs `git merge-file -p` and reports whether it merged
// cleanly.
func gitMergeFileStatus(t *testing.T, ours, base, theirs string) (string, bool) {
	t.Helper()
	d := t.TempDir()
	for n, s := range map[string]string{"ours": ours, "base": base, "theirs": theirs} {
		require.NoError(t, os.WriteFile(filepath.Join(d, n), []byte(s), 0o644))
	}
	cmd := exec.Command("git", "merge-file", "-p", "ours", "base", "theirs")
	cmd.Dir = d
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=/nonexistent", "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null", "LC_ALL=C"}
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		require.True(t, errors.As(err, &ee), err)
		require.Greater(t, ee.ExitCode(), 0)
		return string(out), false
	}
	return string(out), true
}

// TestMerge3AgreesWithGitMergeFile edits distinct-line files at random
// places on both sides; where git merges cleanly Merge3 must produce the
// same text, and where git finds a conflict Merge3 must too.
func TestMerge3AgreesWithGitMergeFile(t *testing.T) {
	r := rand.New(rand.NewSource(3))
	clean := 0
	for it := 0; it < 300; it++ {
		n := 5 + r.Intn(30)
		base := strings.SplitAfter(numbered("base", n), "\n")
		base = base[:len(base)-1]
		edit := func(side string) string {
			ls := append([]string(nil), base...)
			for k := 0; k < 1+r.Intn(3); k++ {
				i := r.Intn(len(ls) + 1)
				switch r.Intn(3) {
				case 0: // insert
					ls = append(ls[:i], append([]string{fmt.Sprintf("%s ins %d %d\n", side, it, k)}, ls[i:]...)...)
				case 1: // delete
					if i < len(ls) {
						ls = append(ls[:i], ls[i+1:]...)
					}
				case 2: // replace
					if i < len(ls) {
						ls[i] = fmt.Sprintf("%s rep %d %d\n", side, it, k)
					}
				}
			}
			return strings.Join(ls, "")
		}
		b := strings.Join(base, "")
		ours, theirs := edit("ours"), edit("theirs")
		if r.Intn(10) == 0 {
			theirs = ours // the same change on both sides merges
		}
		want, ok := gitMergeFileStatus(t, ours, b, theirs)
		got, conflicts := Merge3([]byte(b), []byte(ours), []byte(theirs))
		if ok {
			clean++
			require.Empty(t, conflicts, "git merged cleanly:\nbase:\n%sours:\n%stheirs:\n%s", b, ours, theirs)
			require.Equal(t, want, string(got))
		} else {
			require.NotEmpty(t, conflicts, "git found a conflict:\nbase:\n%sours:\n%stheirs:\n%s\ngit:\n%s", b, ours, theirs, want)
		}
	}
	assert.Greater(t, clean, 50)
	assert.Less(t, clean, 290)
}

// FuzzMerge3 checks the merge's trivial laws: a side equal to the base
// takes the other side whole, and identical sides merge to themselves.
func FuzzMerge3(f *testing.F) {
	f.Add([]byte("a\nb\nc\n"), []byte("a\nB\nc\n"), []byte("a\nb\nc\nd"))
	f.Fuzz(func(t *testing.T, base, ours, theirs []byte) {
		if len(base)+len(ours)+len(theirs) > 3000 {
			return
		}
		got, c := Merge3(base, base, theirs)
		require.Empty(t, c)
		require.Equal(t, string(theirs), string(got))
		got, c = Merge3(base, ours, base)
		require.Empty(t, c)
		require.Equal(t, string(ours), string(got))
		got, c = Merge3(base, ours, ours)
		require.Empty(t, c)
		require.Equal(t, string(ours), string(got))
	})
}
