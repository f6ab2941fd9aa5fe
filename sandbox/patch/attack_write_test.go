package patch

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/factory-dev/factory"
	"github.com/factory-dev/factory/internal/attacktest"
	"github.com/factory-dev/factory/internal/gittest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func deleteLink(name, target string) string {
	return "diff --git a/" + name + " b/" + name + "\ndeleted file mode 120000\n--- a/" + name + "\n+++ /dev/null\n@@ -1 +0,0 @@\n-" + target + "\n\\ No newline at end of file\n"
}

func newExec(name, body string) string {
	return "diff --git a/" + name + " b/" + name + "\nnew file mode 100755\n--- /dev/null\n+++ b/" + name + "\n@@ -0,0 +1 @@\n+" + body + "\n"
}

// withGitHooksLink adds a committed symlink gh -> .git/hooks.
func withGitHooksLink(t *testing.T, w advWorkspace) {
	require.NoError(t, os.Symlink(".git/hooks", filepath.Join(w.dir, "gh")))
	gittest.Run(t, w.dir, "add", "gh")
	gittest.Run(t, w.dir, "commit", "-qm", "gh")
}

// attack: delete the committed symlink gh -> .git/hooks and add gh/pre-commit (100755) in the same patch, in either order -> EINVALID, .git/hooks untouched
func TestAttackSymlinkReplacedByDirIntoGit(t *testing.T) {
	w := newAdvWorkspace(t)
	withGitHooksLink(t, w)
	hook := filepath.Join(w.dir, ".git", "hooks", "pre-commit")
	before := attacktest.Take(t, w.dir, w.outside, hook)
	applyBoth(t, w.dir, deleteLink("gh", ".git/hooks")+newExec("gh/pre-commit", "#!/bin/sh\ntouch /tmp/owned"), Options{},
		factory.EINVALID, "cannot turn a symlink into a directory")
	applyBoth(t, w.dir, newExec("gh/pre-commit", "#!/bin/sh")+deleteLink("gh", ".git/hooks"), Options{},
		factory.EINVALID, "through the symlink")
	attacktest.Unchanged(t, before, w.dir, w.outside, hook)
}

// attack: delete the symlink inlink -> sub and add inlink/new.txt, so the write lands in sub/new.txt while the report says inlink/new.txt -> EINVALID, sub untouched
func TestAttackSymlinkReplacedByDirInside(t *testing.T) {
	w := newAdvWorkspace(t)
	before := attacktest.Take(t, w.dir, w.outside)
	applyBoth(t, w.dir, deleteLink("inlink", "sub")+newFile("inlink/new.txt", "misplaced"), Options{},
		factory.EINVALID, "cannot turn a symlink into a directory")
	attacktest.Unchanged(t, before, w.dir, w.outside)
}

// attack: delete the symlink out -> (outside dir) and add out/evil.txt -> EINVALID (not an internal error), the outside directory untouched
func TestAttackSymlinkOutsideReplacedByDir(t *testing.T) {
	w := newAdvWorkspace(t)
	before := attacktest.Take(t, w.dir, w.outside)
	applyBoth(t, w.dir, deleteLink("out", w.outside)+newFile("out/evil.txt", "evil"), Options{},
		factory.EINVALID, "cannot turn a symlink into a directory")
	attacktest.Unchanged(t, before, w.dir, w.outside)
}

// attack: swap the directory sub for a symlink to .git/hooks after the patch read sub/x.txt, before it writes -> EINVALID at write time, nothing lands in .git
func TestAttackDirSwappedForSymlinkBeforeWrite(t *testing.T) {
	for _, text := range []string{
		"--- a/sub/x.txt\n+++ b/sub/x.txt\n@@ -1 +1 @@\n-x\n+owned\n",
		newExec("sub/pre-commit", "#!/bin/sh"),
	} {
		w := newAdvWorkspace(t)
		require.NoError(t, os.WriteFile(filepath.Join(w.dir, ".git", "hooks", "x.txt"), []byte("x\n"), 0o644))
		var swapped attacktest.State
		opt := Options{beforeWrite: func() {
			require.NoError(t, os.Rename(filepath.Join(w.dir, "sub"), filepath.Join(w.dir, "sub.real")))
			require.NoError(t, os.Symlink(".git/hooks", filepath.Join(w.dir, "sub")))
			swapped = attacktest.Take(t, w.dir, w.outside)
		}}
		root, err := os.OpenRoot(w.dir)
		require.NoError(t, err)
		rep, err := Apply(context.Background(), root, text, opt)
		root.Close()
		require.Error(t, err)
		assert.Equal(t, factory.EINVALID, factory.ErrorCode(err), "%v", err)
		assert.Contains(t, err.Error(), "symlink")
		assert.False(t, rep.Applied)
		attacktest.Unchanged(t, swapped, w.dir, w.outside)
	}
}

// settled is s without the engine's staged files (which exist only while
// it applies): the state a hook records as the one expected afterwards.
func settled(s attacktest.State) attacktest.State {
	out := attacktest.State{}
	for p, d := range s {
		if !strings.HasPrefix(filepath.Base(p), ".factory-patch-") {
			out[p] = d
		}
	}
	return out
}

// appendTo appends s to the file at p, as another program would.
func appendTo(t *testing.T, p, s string) {
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND, 0)
	require.NoError(t, err)
	_, err = f.WriteString(s)
	require.NoError(t, err)
	require.NoError(t, f.Close())
}

const editFAndA = editF + "--- a/a.txt\n+++ b/a.txt\n@@ -1 +1 @@\n-a\n+A\n"

// concurrentAttack applies text with opt, whose hooks change the tree and
// record the state expected after (the concurrent change, nothing of the
// patch), and requires ECONFLICT and exactly that state.
func concurrentAttack(t *testing.T, w advWorkspace, text string, opt Options, expected *attacktest.State) {
	t.Helper()
	root, err := os.OpenRoot(w.dir)
	require.NoError(t, err)
	defer root.Close()
	rep, err := Apply(context.Background(), root, text, opt)
	require.Error(t, err)
	assert.Equal(t, factory.ECONFLICT, factory.ErrorCode(err), "%v", err)
	assert.Contains(t, err.Error(), "changed on disk while the patch was being applied")
	assert.False(t, rep.Applied)
	require.NotNil(t, *expected, "the concurrent change did not run")
	attacktest.Unchanged(t, *expected, w.dir, w.outside)
}

// attack: another program appends to f.txt between the patch reading it and swapping in the edited copy -> ECONFLICT, the appended line kept, a.txt not written either
func TestAttackAppendDuringApply(t *testing.T) {
	w := newAdvWorkspace(t)
	var expected attacktest.State
	concurrentAttack(t, w, editFAndA, Options{beforeCommit: func() {
		appendTo(t, filepath.Join(w.dir, "f.txt"), "appended meanwhile\n")
		expected = settled(attacktest.Take(t, w.dir, w.outside))
	}}, &expected)
}

// attack: a program holding f.txt open writes to it at the last moment, after every file was checked, while the other files of the patch are being swapped in -> ECONFLICT from the last check before f.txt's swap, the line kept, a.txt put back
func TestAttackWriteThroughHeldFileAtSwap(t *testing.T) {
	w := newAdvWorkspace(t)
	f := filepath.Join(w.dir, "f.txt")
	orig, err := os.ReadFile(f)
	require.NoError(t, err)
	// The state expected afterwards: as now, but f.txt with the held write.
	expected := attacktest.Take(t, w.dir, w.outside)
	want := filepath.Join(t.TempDir(), "f.txt")
	require.NoError(t, os.WriteFile(want, append(orig, "held write\n"...), 0o644))
	expected[f] = attacktest.Take(t, want)[want]

	held, err := os.OpenFile(f, os.O_WRONLY|os.O_APPEND, 0)
	require.NoError(t, err)
	defer held.Close()
	wrote := attacktest.State(nil)
	concurrentAttack(t, w, editFAndA, Options{beforeSwap: func(p string) error {
		if p == "f.txt" {
			_, err := held.WriteString("held write\n")
			require.NoError(t, err)
			wrote = expected
		}
		return nil
	}}, &wrote)
}

// attack: another program creates new.txt while the patch that creates it applies -> ECONFLICT, the other program's new.txt kept as it wrote it
func TestAttackFileCreatedDuringApply(t *testing.T) {
	w := newAdvWorkspace(t)
	var expected attacktest.State
	concurrentAttack(t, w, editF+newFile("new.txt", "from the patch"), Options{beforeCommit: func() {
		require.NoError(t, os.WriteFile(filepath.Join(w.dir, "new.txt"), []byte("from the user\n"), 0o644))
		expected = settled(attacktest.Take(t, w.dir, w.outside))
	}}, &expected)
}

// attack: another program appends to c.txt after the patch that deletes c.txt read it -> ECONFLICT, c.txt kept with the appended line
func TestAttackAppendToDeletedFileDuringApply(t *testing.T) {
	w := newAdvWorkspace(t)
	var expected attacktest.State
	concurrentAttack(t, w, editF+"--- a/c.txt\n+++ /dev/null\n@@ -1 +0,0 @@\n-c\n", Options{beforeWrite: func() {
		appendTo(t, filepath.Join(w.dir, "c.txt"), "more\n")
		expected = settled(attacktest.Take(t, w.dir, w.outside))
	}}, &expected)
}
