package sandbox_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/factory-dev/factory"
	"github.com/factory-dev/factory/internal/attacktest"
	"github.com/factory-dev/factory/sandbox"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// attack: through patch_apply, delete the committed symlink gh -> .git/hooks and add an executable gh/pre-commit -> EINVALID, .git/hooks untouched, no snapshot taken
func TestAttackApplyPatchHookThroughReplacedSymlink(t *testing.T) {
	dir, outside := apRepo(t)
	require.NoError(t, os.Symlink(".git/hooks", filepath.Join(dir, "gh")))
	apGit(t, dir, "add", "gh")
	apGit(t, dir, "commit", "-qm", "gh")
	w, err := sandbox.Open(context.Background(), sandbox.Config{Root: dir, TempDir: t.TempDir()})
	require.NoError(t, err)
	text := "diff --git a/gh b/gh\ndeleted file mode 120000\n--- a/gh\n+++ /dev/null\n@@ -1 +0,0 @@\n-.git/hooks\n\\ No newline at end of file\n" +
		"diff --git a/gh/pre-commit b/gh/pre-commit\nnew file mode 100755\n--- /dev/null\n+++ b/gh/pre-commit\n@@ -0,0 +1,2 @@\n+#!/bin/sh\n+touch owned\n"
	before := attacktest.Take(t, dir, outside)
	rep, err := w.ApplyPatch(context.Background(), factory.PatchRequest{Patch: text})
	require.Error(t, err)
	assert.Equal(t, factory.EINVALID, factory.ErrorCode(err), "%v", err)
	assert.False(t, rep.Applied)
	assert.Empty(t, rep.Before)
	attacktest.Unchanged(t, before, dir, outside)
}

// attack: patch_apply over and over on src/a.txt while another program keeps appending lines to it -> each apply is applied or refused with ECONFLICT (never an internal error), the appended lines stay in order, and lines appended while the patch was read are kept (before, one apply lost 111 of 7,925)
func TestAttackApplyPatchWhileAppending(t *testing.T) {
	dir, _ := apRepo(t)
	w, err := sandbox.Open(context.Background(), sandbox.Config{Root: dir, TempDir: t.TempDir()})
	require.NoError(t, err)
	file, stop := filepath.Join(dir, "src", "a.txt"), filepath.Join(t.TempDir(), "stop")
	// A real appender, opening the file for each line like `>>` in a loop.
	appender := exec.Command("sh", "-c", `i=0; while [ ! -e "$2" ]; do echo "appended $i" >> "$1"; i=$((i+1)); done`, "sh", file, stop)
	require.NoError(t, appender.Start())
	edits := [2]string{
		"--- a/src/a.txt\n+++ b/src/a.txt\n@@ -1,3 +1,3 @@\n-line 1\n+LINE 1\n line 2\n line 3\n",
		"--- a/src/a.txt\n+++ b/src/a.txt\n@@ -1,3 +1,3 @@\n-LINE 1\n+line 1\n line 2\n line 3\n",
	}
	applied, refused := 0, 0
	for i := 0; i < 40; i++ {
		rep, err := w.ApplyPatch(context.Background(), factory.PatchRequest{Patch: edits[applied%2]})
		if err != nil {
			require.Equal(t, factory.ECONFLICT, factory.ErrorCode(err), "%v", err)
			require.False(t, rep.Applied)
			refused++
			continue
		}
		require.True(t, rep.Applied)
		applied++
	}
	require.NoError(t, os.WriteFile(stop, nil, 0o644))
	require.NoError(t, appender.Wait())
	t.Logf("%d applied, %d refused while appending", applied, refused)

	data, err := os.ReadFile(file)
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	require.Equal(t, []string{"line 1", "LINE 1"}[applied%2], lines[0], "the last applied edit is in place")
	next, lost := 0, 0
	for _, l := range lines[30:] {
		var n int
		_, err := fmt.Sscanf(l, "appended %d", &n)
		require.NoError(t, err, "line %q", l)
		require.GreaterOrEqual(t, n, next, "appended lines out of order")
		lost += n - next
		next = n + 1
	}
	require.Positive(t, next, "the appender ran")
	require.Positive(t, refused, "no apply saw the appends: the check before the swap did not run")
	// What is left is a write in flight across a swap itself (the file
	// opened before the rename, written after): no check before the rename
	// can see it. Logged, not asserted: how often depends on scheduling.
	t.Logf("%d appended lines, %d missing", next, lost)
}
