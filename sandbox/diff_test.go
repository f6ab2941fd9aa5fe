package sandbox

import (
	"context"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/factory-dev/factory"
	"github.com/factory-dev/factory/sandbox/textdiff"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// numstatOf renders stats as `git diff --numstat` does (without renames).
func numstatOf(stats []factory.FileStat) string {
	var lines []string
	for _, s := range stats {
		if s.Binary {
			lines = append(lines, "-\t-\t"+textdiff.QuoteName(s.Path))
			continue
		}
		lines = append(lines, fmt.Sprintf("%d\t%d\t%s", s.Additions, s.Deletions, textdiff.QuoteName(s.Path)))
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

func sortedLines(s string) string {
	ls := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(ls) == 1 && ls[0] == "" {
		return ""
	}
	sort.Strings(ls)
	return strings.Join(ls, "\n")
}

// applyCheck applies patch with `git apply --cached` onto a temporary index
// holding tree a and requires the result to be tree b.
func applyCheck(t *testing.T, dir, a, b, patch string) {
	t.Helper()
	idx := filepath.Join(t.TempDir(), "index")
	env := []string{"GIT_INDEX_FILE=" + idx}
	rsGitEnvRun(t, dir, env, "", "read-tree", a)
	pf := filepath.Join(t.TempDir(), "p.diff")
	require.NoError(t, os.WriteFile(pf, []byte(patch), 0o644))
	if patch != "" {
		rsGitEnvRun(t, dir, env, "", "apply", "--cached", pf)
	}
	got := strings.TrimSpace(rsGitEnvRun(t, dir, env, "", "write-tree"))
	require.Equal(t, b, got, "applying our patch with git apply gives another tree:\n%s", patch)
}

func TestDiffMatchesGitNumstatAndAppliesWithGit(t *testing.T) {
	w, dir := rsRepo(t)
	ctx := context.Background()
	r := rand.New(rand.NewSource(7))
	prevID, prev := rsSnap(t, w, dir)
	before := rsCapture(t, dir)
	for step := 1; step <= 25; step++ {
		rsRandomEdits(t, r, dir, 1+r.Intn(6))
		id, cur := rsSnap(t, w, dir)

		stats, _, err := w.diffTreeHashes(ctx, plumbing.NewHash(prev), plumbing.NewHash(cur), false)
		require.NoError(t, err)
		want := rsGit(t, dir, "diff", "--no-renames", "--numstat", prev, cur)
		require.Equal(t, sortedLines(want), numstatOf(stats), "step %d", step)

		d, err := w.Diff(ctx, prevID, id, 0)
		require.NoError(t, err)
		full, err := w.FullDiff(ctx, prevID, id)
		require.NoError(t, err)
		assert.Equal(t, len(full), d.FullBytes)
		binary := false
		for _, f := range d.Files {
			binary = binary || f.Binary
		}
		if !binary {
			applyCheck(t, dir, prev, cur, full)
		}
		prev, prevID = cur, id
	}
	assert.Equal(t, before, rsCapture(t, dir), "diff changed the index, HEAD or a branch")
}

func TestDiffDetectsRenamesAsGitDoes(t *testing.T) {
	w, dir := rsRepo(t)
	ctx := context.Background()
	body := strings.Repeat("line of some length\n", 20)
	rsWrite(t, dir, "old.txt", body, 0o644)
	rsWrite(t, dir, "moved.txt", "exact content\nhere\n", 0o644)
	sa, a := rsSnap(t, w, dir)
	require.NoError(t, os.Remove(filepath.Join(dir, "old.txt")))
	rsWrite(t, dir, "new.txt", body+"one more\n", 0o644)
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "sub"), 0o755))
	require.NoError(t, os.Rename(filepath.Join(dir, "moved.txt"), filepath.Join(dir, "sub", "moved.txt")))
	sb, b := rsSnap(t, w, dir)

	d, err := w.Diff(ctx, sa, sb, 0)
	require.NoError(t, err)
	want := rsGit(t, dir, "diff", "-M", "--numstat", a, b)
	var got []string
	for _, f := range d.Files {
		require.Equal(t, factory.StatusRenamed, f.Status, f.Path)
		got = append(got, fmt.Sprintf("%d\t%d\t%s", f.Additions, f.Deletions, f.OldPath+" => "+f.Path))
	}
	// git abbreviates "moved.txt => sub/moved.txt" as "{ => sub}/moved.txt".
	want = strings.ReplaceAll(want, "{ => sub}/moved.txt", "moved.txt => sub/moved.txt")
	assert.Equal(t, sortedLines(want), strings.Join(sortSlice(got), "\n"))
	assert.Contains(t, d.Patch, "rename from old.txt\nrename to new.txt\n")
	applyCheck(t, dir, a, b, d.Patch)
}

func sortSlice(s []string) []string { sort.Strings(s); return s }

func TestDiffCapsThePatch(t *testing.T) {
	w, dir := rsRepo(t)
	ctx := context.Background()
	sa, _ := rsSnap(t, w, dir)
	rsWrite(t, dir, "big.txt", strings.Repeat("0123456789\n", 1000), 0o644)
	sb, _ := rsSnap(t, w, dir)
	d, err := w.Diff(ctx, sa, sb, 1000)
	require.NoError(t, err)
	assert.True(t, d.Truncated)
	assert.LessOrEqual(t, len(d.Patch), 1000)
	assert.True(t, strings.HasSuffix(d.Patch, "\n"))
	full, err := w.FullDiff(ctx, sa, sb)
	require.NoError(t, err)
	assert.Equal(t, len(full), d.FullBytes)
	assert.True(t, strings.HasPrefix(full, d.Patch))
	require.Len(t, d.Files, 1)
	assert.Equal(t, 1000, d.Files[0].Additions)
}

func TestDiffBadIDsAreActionable(t *testing.T) {
	w, dir := rsRepo(t)
	ctx := context.Background()
	sa, _ := rsSnap(t, w, dir)
	before := rsCapture(t, dir)
	cases := []struct{ id, code, says string }{
		{"s-0badbad", factory.ENOTFOUND, "snapshot_list"},
		{"main", factory.EINVALID, "not a snapshot"},
		{"HEAD", factory.EINVALID, "not a snapshot"},
		{"-rf", factory.EINVALID, "snapshot"},
		{"../../etc", factory.EINVALID, "snapshot"},
		{"", factory.EINVALID, "snapshot"},
	}
	for _, c := range cases {
		_, err := w.Diff(ctx, c.id, sa, 0)
		require.Error(t, err, c.id)
		assert.Equal(t, c.code, factory.ErrorCode(err), c.id)
		assert.Contains(t, err.Error(), c.says, c.id)
		_, err = w.Diff(ctx, sa, c.id+"x", 0)
		require.Error(t, err, c.id)
	}
	assert.Equal(t, before, rsCapture(t, dir))
}
