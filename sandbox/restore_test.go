package sandbox

import (
	"context"
	"crypto/sha1"
	"errors"
	"fmt"
	"io/fs"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/factory-dev/factory"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// rsFingerprint describes every entry under dir but .git: type, mode,
// content hash or link target, size, mtime and inode. Equal fingerprints
// mean nothing was written.
func rsFingerprint(t testing.TB, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if rel == ".git" {
			return filepath.SkipDir
		}
		st, err := os.Lstat(p)
		if err != nil {
			return err
		}
		ino := inoOf(st)
		desc := fmt.Sprintf("%v ino=%d mtime=%d", st.Mode(), ino, st.ModTime().UnixNano())
		switch {
		case st.Mode()&fs.ModeSymlink != 0:
			l, _ := os.Readlink(p)
			desc += " -> " + l
		case st.Mode().IsRegular():
			b, _ := os.ReadFile(p)
			desc += fmt.Sprintf(" %x", sha1.Sum(b))
		case st.IsDir():
			desc = fmt.Sprintf("%v", st.Mode()) // a dir's mtime moves with any temp file
		}
		out[rel] = desc
		return nil
	})
	require.NoError(t, err)
	return out
}

// rsIgnoredSetup adds ignore rules and ignored files that restore must
// never delete.
func rsIgnoredSetup(t testing.TB, dir string) {
	rsWrite(t, dir, ".gitignore", "*.log\nbuild/\n", 0o644)
	rsWrite(t, dir, "keep.log", "ignored\n", 0o644)
	rsWrite(t, dir, "d/e/deep.log", "ignored deep\n", 0o644)
	rsWrite(t, dir, "build/out.o", "object\n", 0o644)
}

func rsIgnoredFiles(t testing.TB, dir string) map[string]string {
	out := map[string]string{}
	for _, p := range []string{"keep.log", "d/e/deep.log", "build/out.o"} {
		b, err := os.ReadFile(filepath.Join(dir, p))
		if err == nil {
			out[p] = string(b)
		}
	}
	return out
}

func TestRestoreBringsBackEachSnapshotExactly(t *testing.T) {
	w, dir := rsRepo(t)
	ctx := context.Background()
	rsIgnoredSetup(t, dir)
	r := rand.New(rand.NewSource(42))
	type snap struct{ id, tree string }
	first, firstTree := rsSnap(t, w, dir)
	snaps := []snap{{first, firstTree}}
	state := rsCapture(t, dir)
	ignored := rsIgnoredFiles(t, dir)
	for step := 0; step < 30; step++ {
		rsRandomEdits(t, r, dir, 1+r.Intn(8))
		id, tree := rsSnap(t, w, dir)
		snaps = append(snaps, snap{id, tree})

		target := snaps[r.Intn(len(snaps))]
		res, err := w.Restore(ctx, target.id, nil)
		require.NoError(t, err, "step %d", step)
		assert.Equal(t, target.id, res.Target)
		got := rsNativeTree(t, dir)
		require.Equal(t, target.tree, got, "step %d: restore of %s left another tree", step, target.id)
		after, err := w.Snapshot(ctx, "")
		require.NoError(t, err)
		require.Equal(t, target.tree, after.Tree)

		// The undo snapshot is the state before the restore.
		undoTree, err := w.TreeOf(ctx, res.Undo)
		require.NoError(t, err)
		require.Equal(t, tree, undoTree)
		if r.Intn(3) == 0 {
			_, err := w.Restore(ctx, res.Undo, nil)
			require.NoError(t, err)
			require.Equal(t, tree, rsNativeTree(t, dir), "step %d: undo did not bring back the tree", step)
		}
		require.Equal(t, ignored, rsIgnoredFiles(t, dir), "step %d: an ignored file changed", step)
		require.Equal(t, state, rsCapture(t, dir), "step %d: restore touched the index, HEAD or a branch", step)
	}
}

func TestRestoreWritesOnlyWhatDiffers(t *testing.T) {
	w, dir := rsRepo(t)
	ctx := context.Background()
	rsWrite(t, dir, "same.txt", "same\n", 0o644)
	rsWrite(t, dir, "mode.sh", "#!/bin/sh\n", 0o644)
	rsWrite(t, dir, "changed.txt", "v1\n", 0o644)
	rsSymlink(t, dir, "link", "same.txt")
	id, _ := rsSnap(t, w, dir)
	before := rsFingerprint(t, dir)

	rsWrite(t, dir, "changed.txt", "v2\n", 0o644)
	require.NoError(t, os.Chmod(filepath.Join(dir, "mode.sh"), 0o755))
	rsSymlink(t, dir, "link", "elsewhere")
	rsWrite(t, dir, "new/file.txt", "new\n", 0o644)

	res, err := w.Restore(ctx, id, nil)
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{"changed.txt", "mode.sh", "link"}, res.Written)
	assert.Equal(t, []string{"new/file.txt"}, res.Deleted)
	after := rsFingerprint(t, dir)
	assert.Equal(t, before["same.txt"], after["same.txt"], "an unchanged file was rewritten")
	assert.Equal(t, before["README"], after["README"])
	assert.NotContains(t, after, "new", "the emptied directory stays")
	l, err := os.Readlink(filepath.Join(dir, "link"))
	require.NoError(t, err)
	assert.Equal(t, "same.txt", l)
	st, err := os.Stat(filepath.Join(dir, "mode.sh"))
	require.NoError(t, err)
	assert.Zero(t, st.Mode()&0o111)
}

func TestRestoreOnlyThePathsAsked(t *testing.T) {
	w, dir := rsRepo(t)
	ctx := context.Background()
	rsWrite(t, dir, "a/one.txt", "1\n", 0o644)
	rsWrite(t, dir, "a/two.txt", "2\n", 0o644)
	rsWrite(t, dir, "b.txt", "b\n", 0o644)
	id, _ := rsSnap(t, w, dir)
	rsWrite(t, dir, "a/one.txt", "1 changed\n", 0o644)
	rsWrite(t, dir, "a/three.txt", "3\n", 0o644)
	rsWrite(t, dir, "b.txt", "b changed\n", 0o644)

	res, err := w.Restore(ctx, id, []string{"a"})
	require.NoError(t, err)
	assert.Equal(t, []string{"a/one.txt"}, res.Written)
	assert.Equal(t, []string{"a/three.txt"}, res.Deleted)
	b, _ := os.ReadFile(filepath.Join(dir, "b.txt"))
	assert.Equal(t, "b changed\n", string(b))

	res, err = w.Restore(ctx, id, []string{"./b.txt"})
	require.NoError(t, err)
	assert.Equal(t, []string{"b.txt"}, res.Written)
	b, _ = os.ReadFile(filepath.Join(dir, "b.txt"))
	assert.Equal(t, "b\n", string(b))
}

func TestRestoreRefusesBadInputAndChangesNothing(t *testing.T) {
	w, dir := rsRepo(t)
	ctx := context.Background()
	rsWrite(t, dir, "f.txt", "v1\n", 0o644)
	id, _ := rsSnap(t, w, dir)
	rsWrite(t, dir, "f.txt", "v2\n", 0o644)
	rsWrite(t, dir, "g.txt", "untracked\n", 0o644)
	before := rsFingerprint(t, dir)
	state := rsCapture(t, dir)
	cases := []struct {
		id    string
		paths []string
		code  string
		says  string
	}{
		{"s-0badbad", nil, factory.ENOTFOUND, "snapshot_list"},
		{"main", nil, factory.EINVALID, "not a snapshot"},
		{"-rf", nil, factory.EINVALID, "snapshot"},
		{id, []string{"../outside"}, factory.EINVALID, "leaves the workspace root"},
		{id, []string{"/etc/passwd"}, factory.EINVALID, "is absolute"},
		{id, []string{"-rf"}, factory.EINVALID, "begins with '-'"},
		{id, []string{".git/config"}, factory.EINVALID, ".git"},
		{id, []string{"f.txt", "a/../../x"}, factory.EINVALID, "leaves the workspace root"},
		{id, []string{"no/such/file"}, factory.ENOTFOUND, "neither"},
	}
	for _, c := range cases {
		_, err := w.Restore(ctx, c.id, c.paths)
		require.Error(t, err, "%s %v", c.id, c.paths)
		assert.Equal(t, c.code, factory.ErrorCode(err), "%s %v: %v", c.id, c.paths, err)
		assert.Contains(t, err.Error(), c.says, "%s %v", c.id, c.paths)
		require.Equal(t, before, rsFingerprint(t, dir), "%s %v changed the tree", c.id, c.paths)
	}
	assert.Equal(t, state, rsCapture(t, dir))
}

func TestRestoreFailingMidwayPutsTheTreeBack(t *testing.T) {
	for _, failAt := range []int{1, 3, 6, 9} {
		t.Run(fmt.Sprint(failAt), func(t *testing.T) {
			w, dir := rsRepo(t)
			ctx := context.Background()
			rsWrite(t, dir, "a.txt", "a1\n", 0o644)
			rsWrite(t, dir, "dir/b.txt", "b1\n", 0o644)
			rsWrite(t, dir, "c.sh", "c\n", 0o755)
			rsWrite(t, dir, "gone/x.txt", "x\n", 0o644)
			rsSymlink(t, dir, "l", "a.txt")
			id, _ := rsSnap(t, w, dir)
			rsWrite(t, dir, "a.txt", "a2\n", 0o644)
			require.NoError(t, os.RemoveAll(filepath.Join(dir, "dir")))
			rsWrite(t, dir, "dir", "now a file\n", 0o644)
			require.NoError(t, os.Chmod(filepath.Join(dir, "c.sh"), 0o644))
			require.NoError(t, os.RemoveAll(filepath.Join(dir, "gone")))
			rsWrite(t, dir, "extra/y.txt", "y\n", 0o644)
			rsWrite(t, dir, "extra/z.txt", "z\n", 0o644)
			rsSymlink(t, dir, "l", "elsewhere")
			before := rsFingerprint(t, dir)

			n := 0
			w.hooks.write = func(op, p string) error {
				n++
				if n == failAt {
					return errors.New("injected failure")
				}
				return nil
			}
			defer func() { w.hooks.write = nil }()
			_, err := w.Restore(ctx, id, nil)
			if failAt > n {
				require.NoError(t, err) // fewer steps than failAt: it succeeded
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), "injected failure")
			assert.Equal(t, before, rsFingerprint(t, dir), "the tree was not put back")
			entries, _ := os.ReadDir(filepath.Join(dir, ".git"))
			for _, e := range entries {
				assert.False(t, strings.HasPrefix(e.Name(), "factory-txn-"), "backup dir left behind")
			}
		})
	}
}

func TestRestoreRefusesToReplaceAnIgnoredDirectory(t *testing.T) {
	w, dir := rsRepo(t)
	ctx := context.Background()
	rsWrite(t, dir, ".gitignore", "*.log\n", 0o644)
	rsWrite(t, dir, "x", "x was a file\n", 0o644)
	id, _ := rsSnap(t, w, dir)
	require.NoError(t, os.Remove(filepath.Join(dir, "x")))
	rsWrite(t, dir, "x/only.log", "ignored\n", 0o644)
	rsWrite(t, dir, "y.txt", "y\n", 0o644)
	before := rsFingerprint(t, dir)
	_, err := w.Restore(ctx, id, nil)
	require.Error(t, err)
	assert.Equal(t, factory.ECONFLICT, factory.ErrorCode(err), err.Error())
	assert.Equal(t, before, rsFingerprint(t, dir))
}
