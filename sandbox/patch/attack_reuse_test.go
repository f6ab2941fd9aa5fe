//go:build linux

package patch

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/factory-dev/factory/internal/attacktest"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// The writes of one directory are staged, after the first, in the old file
// the previous swap there took out. These attacks aim at that reused file.

// attack: a program opens the staged file by its temporary name (the old a.txt, rewritten with f.txt's new content) to write to it before f.txt's swap -> the patch holds that file under its write lease until the swap, so the open waits for the swap (or, not waiting, is refused: EWOULDBLOCK) and no write reaches what the swap puts in place: f.txt and a.txt hold exactly the patch's content
func TestAttackWriteReusedFileBetweenSwaps(t *testing.T) {
	w := newAdvWorkspace(t)
	staged := ""
	var opened error
	tried := false
	applyReused(t, w, Options{
		beforeReuse: func(p, tmp string) {
			if p == "f.txt" {
				staged = filepath.Join(w.dir, tmp)
			}
		},
		beforeSwap: func(p string) error {
			if p == "f.txt" {
				require.NotEmpty(t, staged, "f.txt was not staged in the old a.txt")
				f, err := os.OpenFile(staged, os.O_WRONLY|os.O_APPEND|syscall.O_NONBLOCK, 0)
				if err == nil {
					_, _ = f.WriteString("written through the temporary name\n")
					f.Close()
				}
				opened, tried = err, true
			}
			return nil
		},
	})
	require.True(t, tried, "the swap hook did not run")
	require.ErrorIs(t, opened, syscall.EWOULDBLOCK, "the staged file could be opened before its swap")
	f, err := os.ReadFile(filepath.Join(w.dir, "f.txt"))
	require.NoError(t, err)
	require.NotContains(t, string(f), "temporary name")
}

// attack: a program holds a.txt open across the patch (an editor, a logger) and writes to it after the patch returned, hoping the write lands in the file its old a.txt became -> a file open elsewhere is never reused (no write lease), f.txt and a.txt hold exactly the patch's content, and the late write reaches no file of the tree
func TestAttackHeldFileNotReused(t *testing.T) {
	w := newAdvWorkspace(t)
	held, err := os.OpenFile(filepath.Join(w.dir, "a.txt"), os.O_WRONLY, 0)
	require.NoError(t, err)
	defer held.Close()
	reused := false
	applyReused(t, w, Options{beforeReuse: func(p, _ string) { reused = reused || p == "f.txt" }})
	before := attacktest.Take(t, w.dir, w.outside)
	_, err = held.WriteAt([]byte("late write from the holder\n"), 0)
	require.NoError(t, err)
	attacktest.Unchanged(t, before, w.dir, w.outside)
	want := "line 1\nline two\n"
	for i := 3; i <= 10; i++ {
		want += fmt.Sprintf("line %d\n", i)
	}
	f, err := os.ReadFile(filepath.Join(w.dir, "f.txt"))
	require.NoError(t, err)
	require.Equal(t, want, string(f))
	// Without the holder the same patch reuses the old a.txt: the guard,
	// not the layout, decided.
	w2 := newAdvWorkspace(t)
	applyReused(t, w2, Options{beforeReuse: func(p, _ string) { reused = reused || p == "f.txt" }})
	require.True(t, reused, "f.txt was never staged in the old a.txt, held or not")
}

// attack: a.txt is a hard link to a file outside the workspace, so the patch's rewrite of the old a.txt (taken out by its swap) would write outside -> the old file is not reused (it has another name), the patch applies, the outside file byte-identical
func TestAttackHardLinkedFileNotReused(t *testing.T) {
	w := newAdvWorkspace(t)
	a := filepath.Join(w.dir, "a.txt")
	kept := filepath.Join(w.outside, "kept.txt")
	require.NoError(t, os.WriteFile(kept, []byte("a\n"), 0o644))
	require.NoError(t, os.Remove(a))
	require.NoError(t, os.Link(kept, a))
	before := attacktest.Take(t, w.outside, filepath.Join(w.dir, ".git"))
	applyReused(t, w, Options{})
	attacktest.Unchanged(t, before, w.outside, filepath.Join(w.dir, ".git"))
}

// attack: between a.txt's swap and the reuse of the old a.txt for f.txt, another program puts under the temporary name a hard link to a file outside the workspace, or a symlink to it -> that name is not reused (not the file the swap took out, or a symlink), f.txt staged in a new file, the patch applies, the outside file byte-identical
func TestAttackReplaceReusedName(t *testing.T) {
	for _, link := range []bool{true, false} {
		w := newAdvWorkspace(t)
		secret := filepath.Join(w.outside, "secret.txt")
		before := attacktest.Take(t, w.outside, filepath.Join(w.dir, ".git"))
		replaced := false
		applyReused(t, w, Options{beforeReuse: func(p, tmp string) {
			name := filepath.Join(w.dir, tmp)
			require.NoError(t, os.Remove(name))
			if link {
				require.NoError(t, os.Link(secret, name))
			} else {
				require.NoError(t, os.Symlink(secret, name))
			}
			replaced = true
		}})
		require.True(t, replaced, "the reuse hook did not run")
		attacktest.Unchanged(t, before, w.outside, filepath.Join(w.dir, ".git"))
	}
}

// applyReused applies editFAndA, which must succeed, and checks the result:
// both files patched, no staged file left behind.
func applyReused(t *testing.T, w advWorkspace, opt Options) {
	t.Helper()
	root, err := os.OpenRoot(w.dir)
	require.NoError(t, err)
	defer root.Close()
	rep, err := Apply(context.Background(), root, editFAndA, opt)
	require.NoError(t, err)
	require.True(t, rep.Applied)
	a, err := os.ReadFile(filepath.Join(w.dir, "a.txt"))
	require.NoError(t, err)
	require.Equal(t, "A\n", string(a))
	f, err := os.ReadFile(filepath.Join(w.dir, "f.txt"))
	require.NoError(t, err)
	require.Contains(t, string(f), "line two\n")
	entries, err := os.ReadDir(w.dir)
	require.NoError(t, err)
	for _, e := range entries {
		require.False(t, strings.HasPrefix(e.Name(), ".factory-patch-"), "left behind: %s", e.Name())
	}
}

// attack: a.txt carries an extended attribute (as an access list granting another user would be), hoping the reuse of the old a.txt hands it to f.txt's new content -> the old file is not reused, the patch applies, f.txt carries no attribute
func TestAttackAttributesNotCarriedOver(t *testing.T) {
	w := newAdvWorkspace(t)
	if err := unix.Setxattr(filepath.Join(w.dir, "a.txt"), "user.grant", []byte("uid 1000 rw"), 0); err != nil {
		t.Skipf("this file system keeps no user attributes: %v", err)
	}
	before := attacktest.Take(t, w.outside, filepath.Join(w.dir, ".git"))
	applyReused(t, w, Options{})
	n, err := unix.Listxattr(filepath.Join(w.dir, "f.txt"), nil)
	require.NoError(t, err)
	require.Zero(t, n, "f.txt carries the attributes of the old a.txt")
	attacktest.Unchanged(t, before, w.outside, filepath.Join(w.dir, ".git"))
}
