package sandbox

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/factory-dev/factory"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// numbered returns n distinct lines "prefix i".
func numbered(prefix string, n int) string {
	var b strings.Builder
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "%s %d\n", prefix, i)
	}
	return b.String()
}

// replaceLine replaces the 1-based line i of s.
func replaceLine(s string, i int, with string) string {
	ls := strings.SplitAfter(s, "\n")
	ls[i-1] = with + "\n"
	return strings.Join(ls, "")
}

// rsPromoteSetup makes a workspace, snapshots it as the base, and returns
// an isolated copy of the base for the change to be made in.
func rsPromoteSetup(t *testing.T) (*Workspace, string, string, *Copy) {
	w, dir := rsRepo(t)
	rsWrite(t, dir, ".gitignore", "*.log\n", 0o644)
	rsWrite(t, dir, "main.go", numbered("main", 40), 0o644)
	rsWrite(t, dir, "other.go", numbered("other", 10), 0o644)
	rsWrite(t, dir, "old.txt", "to be deleted\n", 0o644)
	rsWrite(t, dir, "tool.sh", "#!/bin/sh\n", 0o644)
	base, _ := rsSnap(t, w, dir)
	c, err := w.Isolate(context.Background(), base)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return w, dir, base, c
}

// rsChange makes the change in the copy and snapshots the result.
func rsChange(t *testing.T, w *Workspace, c *Copy) string {
	b, err := os.ReadFile(filepath.Join(c.Dir(), "main.go"))
	require.NoError(t, err)
	rsWrite(t, c.Dir(), "main.go", replaceLine(string(b), 5, "main 5 changed by the change"), 0o644)
	rsWrite(t, c.Dir(), "pkg/new.go", "package pkg\n", 0o644)
	require.NoError(t, os.Remove(filepath.Join(c.Dir(), "old.txt")))
	require.NoError(t, os.Chmod(filepath.Join(c.Dir(), "tool.sh"), 0o755))
	s, err := c.Snapshot(context.Background(), "")
	require.NoError(t, err)
	return s.ID
}

func TestPromoteClean(t *testing.T) {
	w, dir, base, c := rsPromoteSetup(t)
	result := rsChange(t, w, c)
	state := rsCapture(t, dir)
	rsWrite(t, dir, "debug.log", "ignored, must stay\n", 0o644)
	before := rsFingerprint(t, dir)

	res, err := w.Promote(context.Background(), base, result)
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{"main.go", "pkg/new.go", "tool.sh"}, res.Written)
	assert.Equal(t, []string{"old.txt"}, res.Deleted)
	resultTree, err := w.TreeOf(context.Background(), result)
	require.NoError(t, err)
	assert.Equal(t, resultTree, rsNativeTree(t, dir))
	undoTree, err := w.TreeOf(context.Background(), res.Undo)
	require.NoError(t, err)
	baseTree, _ := w.TreeOf(context.Background(), base)
	assert.Equal(t, baseTree, undoTree)
	after := rsFingerprint(t, dir)
	assert.Equal(t, before["other.go"], after["other.go"], "an untouched file was written")
	assert.Equal(t, before["debug.log"], after["debug.log"])
	assert.Equal(t, state, rsCapture(t, dir), "promote touched the index, HEAD or a branch")
}

func TestPromoteWhenTheLiveTreeMovedElsewhere(t *testing.T) {
	w, dir, base, c := rsPromoteSetup(t)
	result := rsChange(t, w, c)
	rsWrite(t, dir, "other.go", numbered("other", 12), 0o644) // the live tree moved
	rsWrite(t, dir, "live-only.txt", "agent made this meanwhile\n", 0o644)

	res, err := w.Promote(context.Background(), base, result)
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{"main.go", "pkg/new.go", "tool.sh"}, res.Written)
	b, _ := os.ReadFile(filepath.Join(dir, "other.go"))
	assert.Equal(t, numbered("other", 12), string(b))
	b, _ = os.ReadFile(filepath.Join(dir, "main.go"))
	assert.Contains(t, string(b), "main 5 changed by the change\n")
	_, err = os.Stat(filepath.Join(dir, "live-only.txt"))
	assert.NoError(t, err)
	_, err = os.Stat(filepath.Join(dir, "old.txt"))
	assert.True(t, os.IsNotExist(err))
}

func TestPromoteMergesTheSameFileEditedElsewhere(t *testing.T) {
	w, dir, base, c := rsPromoteSetup(t)
	result := rsChange(t, w, c)
	live := replaceLine(numbered("main", 40), 30, "main 30 changed in the live tree")
	rsWrite(t, dir, "main.go", live, 0o644)

	_, err := w.Promote(context.Background(), base, result)
	require.NoError(t, err)
	got, _ := os.ReadFile(filepath.Join(dir, "main.go"))
	want := gitMergeFile(t, live, numbered("main", 40), replaceLine(numbered("main", 40), 5, "main 5 changed by the change"))
	assert.Equal(t, want, string(got))
	assert.Contains(t, string(got), "main 5 changed by the change\n")
	assert.Contains(t, string(got), "main 30 changed in the live tree\n")
}

func TestPromoteConflictChangesNothing(t *testing.T) {
	w, dir, base, c := rsPromoteSetup(t)
	result := rsChange(t, w, c)
	rsWrite(t, dir, "main.go", replaceLine(numbered("main", 40), 5, "main 5 changed in the live tree"), 0o644)
	rsWrite(t, dir, "pkg/new.go", "package other\n", 0o644) // added on both sides
	before := rsFingerprint(t, dir)
	state := rsCapture(t, dir)

	_, err := w.Promote(context.Background(), base, result)
	require.Error(t, err)
	assert.Equal(t, factory.ECONFLICT, factory.ErrorCode(err))
	var ce *ConflictError
	require.True(t, errors.As(err, &ce), err.Error())
	require.Len(t, ce.Files, 2)
	assert.Equal(t, "main.go", ce.Files[0].Path)
	require.Len(t, ce.Files[0].Regions, 1)
	r := ce.Files[0].Regions[0]
	assert.Equal(t, 5, r.Start)
	assert.Equal(t, 5, r.End)
	assert.Equal(t, []string{"main 5 changed in the live tree\n"}, r.Live)
	assert.Equal(t, []string{"main 5 changed by the change\n"}, r.Change)
	assert.Equal(t, "pkg/new.go", ce.Files[1].Path)
	assert.Contains(t, err.Error(), "main.go")
	assert.Contains(t, err.Error(), "base lines 5-5")
	assert.Equal(t, before, rsFingerprint(t, dir), "the live tree changed")
	assert.Equal(t, state, rsCapture(t, dir))
}

func TestPromoteRefusesToOverwriteAnIgnoredFile(t *testing.T) {
	w, dir, base, c := rsPromoteSetup(t)
	// The change adds cache/data.txt; meanwhile the user ignores cache/
	// and keeps data of their own there.
	rsWrite(t, c.Dir(), "cache/data.txt", "from the change\n", 0o644)
	res, err := c.Snapshot(context.Background(), "")
	require.NoError(t, err)
	rsWrite(t, dir, ".git/info/exclude", "cache/\n", 0o644)
	rsWrite(t, dir, "cache/data.txt", "ignored user data\n", 0o644)
	before := rsFingerprint(t, dir)
	_, err = w.Promote(context.Background(), base, res.ID)
	require.Error(t, err)
	assert.Equal(t, factory.ECONFLICT, factory.ErrorCode(err), err.Error())
	assert.Equal(t, before, rsFingerprint(t, dir))
}

// gitMergeFile is `git merge-file -p ours base theirs`, the reference.
func gitMergeFile(t *testing.T, ours, base, theirs string) string {
	out, _ := gitMergeFileStatus(t, ours, base, theirs)
	return out
}

func gitMergeFileStatus(t *testing.T, ours, base, theirs string) (string, bool) {
	t.Helper()
	d := t.TempDir()
	for n, s := range map[string]string{"ours": ours, "base": base, "theirs": theirs} {
		require.NoError(t, os.WriteFile(filepath.Join(d, n), []byte(s), 0o644))
	}
	cmd := exec.Command("git", "merge-file", "-p", "ours", "base", "theirs")
	cmd.Dir = d
	cmd.Env = rsGitEnv()
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		require.True(t, errors.As(err, &ee), err)
		require.Greater(t, ee.ExitCode(), 0)
		return string(out), false
	}
	return string(out), true
}

func TestPromoteRefusesWhenAFileChangesDuringTheWrite(t *testing.T) {
	w, dir, base, c := rsPromoteSetup(t)
	result := rsChange(t, w, c)
	w.hooks.beforeApply = func() {
		rsWrite(t, dir, "main.go", "an edit made after the undo snapshot\n", 0o644)
	}
	defer func() { w.hooks.beforeApply = nil }()
	_, err := w.Promote(context.Background(), base, result)
	require.Error(t, err)
	assert.Equal(t, factory.ECONFLICT, factory.ErrorCode(err))
	assert.Contains(t, err.Error(), "main.go changed on disk")
	b, _ := os.ReadFile(filepath.Join(dir, "main.go"))
	assert.Equal(t, "an edit made after the undo snapshot\n", string(b))
	_, err = os.Stat(filepath.Join(dir, "old.txt"))
	assert.NoError(t, err, "a file was deleted although the promote was refused")
	_, err = os.Stat(filepath.Join(dir, "pkg"))
	assert.True(t, os.IsNotExist(err))
}
