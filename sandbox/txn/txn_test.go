package txn

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/factory-dev/factory"
	"github.com/factory-dev/factory/internal/attacktest"
	"github.com/factory-dev/factory/sandbox/gitstore"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// entry is the gitstore.Entry of data with mode, as a snapshot records it.
func entry(mode filemode.FileMode, data string) *gitstore.Entry {
	return &gitstore.Entry{Mode: mode, Hash: plumbing.ComputeHash(plumbing.BlobObject, []byte(data))}
}

// put writes the files of spec under dir: "path" -> content, or "path" ->
// "-> target" for a symlink; a path ending in "/" is an empty directory.
func put(t *testing.T, dir string, spec map[string]string) {
	t.Helper()
	for p, v := range spec {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if strings.HasSuffix(p, "/") {
			require.NoError(t, os.MkdirAll(full, 0o755))
			continue
		}
		require.NoError(t, os.MkdirAll(filepath.Dir(full), 0o755))
		if target, ok := strings.CutPrefix(v, "-> "); ok {
			require.NoError(t, os.Symlink(target, full))
		} else {
			require.NoError(t, os.WriteFile(full, []byte(v), 0o644))
		}
	}
}

// tree is a working tree with a .git directory inside, and the ops of one
// transaction over it: a content write, a mode change, a deletion that
// empties its directory, a symlink retargeted, a file replacing an empty
// directory and a file in new directories. Six steps: one delete, five
// writes.
func tree(t *testing.T) (dir string, ops []Op) {
	dir = t.TempDir()
	put(t, dir, map[string]string{
		".git/HEAD": "ref: refs/heads/main\n", "a.txt": "a\n", "c.sh": "c\n",
		"gone/x.txt": "x\n", "l": "-> a.txt", "dir/": "",
	})
	return dir, []Op{
		{Path: "a.txt", Cur: entry(filemode.Regular, "a\n"), To: entry(filemode.Regular, "a2\n"), Data: []byte("a2\n")},
		{Path: "c.sh", Cur: entry(filemode.Regular, "c\n"), To: entry(filemode.Executable, "c\n"), ModeOnly: true},
		{Path: "gone/x.txt", Cur: entry(filemode.Regular, "x\n")},
		{Path: "l", Cur: entry(filemode.Symlink, "a.txt"), To: entry(filemode.Symlink, "b"), Data: []byte("b")},
		{Path: "dir", To: entry(filemode.Regular, "now a file\n"), Data: []byte("now a file\n")},
		{Path: "new/deep/n.txt", To: entry(filemode.Regular, "n\n"), Data: []byte("n\n")},
	}
}

func TestApplyWritesEveryOp(t *testing.T) {
	dir, ops := tree(t)
	written, deleted, err := Apply(context.Background(), dir, filepath.Join(dir, ".git"), ops, Options{})
	require.NoError(t, err)
	assert.Equal(t, []string{"a.txt", "c.sh", "dir", "l", "new/deep/n.txt"}, written)
	assert.Equal(t, []string{"gone/x.txt"}, deleted)

	for p, want := range map[string]string{"a.txt": "a2\n", "dir": "now a file\n", "new/deep/n.txt": "n\n"} {
		b, err := os.ReadFile(filepath.Join(dir, p))
		require.NoError(t, err)
		assert.Equal(t, want, string(b), p)
	}
	st, err := os.Stat(filepath.Join(dir, "c.sh"))
	require.NoError(t, err)
	assert.NotZero(t, st.Mode()&0o100, "c.sh is executable")
	l, err := os.Readlink(filepath.Join(dir, "l"))
	require.NoError(t, err)
	assert.Equal(t, "b", l)
	_, err = os.Lstat(filepath.Join(dir, "gone"))
	assert.ErrorIs(t, err, os.ErrNotExist, "the directory the deletion emptied stays")
	ents, err := os.ReadDir(filepath.Join(dir, ".git"))
	require.NoError(t, err)
	assert.Len(t, ents, 1, "the backup directory is gone from .git")
}

// A failure at any step puts the tree back as it was, .git included (the
// backup directory goes).
func TestApplyRollsBackAFailureAtEveryStep(t *testing.T) {
	for failAt := 1; failAt <= 6; failAt++ {
		t.Run(fmt.Sprint(failAt), func(t *testing.T) {
			dir, ops := tree(t)
			before := attacktest.Take(t, dir)
			n := 0
			hook := func(op, p string) error {
				if n++; n == failAt {
					return errors.New("injected failure")
				}
				return nil
			}
			_, _, err := Apply(context.Background(), dir, filepath.Join(dir, ".git"), ops, Options{Hook: hook})
			require.ErrorContains(t, err, "injected failure")
			attacktest.Unchanged(t, before, dir)
		})
	}
}

// Apply writes nothing when the disk no longer holds an op's Cur, or when
// a write would remove a file no op deletes (an ignored one).
func TestApplyRefusesBeforeWriting(t *testing.T) {
	cases := map[string]struct {
		files map[string]string
		op    Op
		says  string
	}{
		"edited meanwhile": {map[string]string{"a.txt": "edited\n"},
			Op{Path: "a.txt", Cur: entry(filemode.Regular, "a\n")}, "a.txt changed on disk"},
		"now a symlink": {map[string]string{"a.txt": "-> b"},
			Op{Path: "a.txt", Cur: entry(filemode.Regular, "a\n")}, "a.txt changed on disk"},
		"a file where a directory goes": {map[string]string{"x": "ignored\n"},
			Op{Path: "x/y", To: entry(filemode.Regular, "y\n"), Data: []byte("y\n")}, "x is in the way"},
		"files in a directory where a file goes": {map[string]string{"d/keep.log": "ignored\n"},
			Op{Path: "d", To: entry(filemode.Regular, "d\n"), Data: []byte("d\n")}, "d/keep.log is in the way"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			put(t, dir, tc.files)
			before := attacktest.Take(t, dir)
			_, _, err := Apply(context.Background(), dir, filepath.Join(dir, ".git"), []Op{tc.op}, Options{})
			require.Error(t, err)
			assert.Equal(t, factory.ECONFLICT, factory.ErrorCode(err), "%v", err)
			assert.Contains(t, err.Error(), tc.says)
			attacktest.Unchanged(t, before, dir)
		})
	}
}

func TestBackupDirFor(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.Mkdir(filepath.Join(dir, ".git"), 0o755))
	assert.Regexp(t, `^\.git/factory-txn-[0-9a-f]{12}$`, backupDirFor(dir, filepath.Join(dir, ".git")))
	assert.Regexp(t, `^\.factory-txn-[0-9a-f]{12}$`, backupDirFor(dir, t.TempDir()), "a git dir outside the tree")
	assert.Regexp(t, `^\.factory-txn-`, backupDirFor(dir, filepath.Join(dir, "absent")), "a git dir that is not there")
}

func TestExecPerm(t *testing.T) {
	for _, tc := range []struct {
		old  os.FileMode
		mode filemode.FileMode
		want os.FileMode
	}{
		{0o644, filemode.Executable, 0o755},
		{0o600, filemode.Executable, 0o700},
		{0o640, filemode.Executable, 0o750},
		{0o755, filemode.Regular, 0o644},
		{0o700, filemode.Regular, 0o600},
	} {
		assert.Equal(t, tc.want, execPerm(tc.old, tc.mode), "%v to %v", tc.old, tc.mode)
	}
}
