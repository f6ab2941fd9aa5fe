package patch

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/factory-dev/factory"
	"github.com/factory-dev/factory/internal/attacktest"
	"github.com/stretchr/testify/require"
)

// rewriteInPlace overwrites the first byte of the file at p through the same
// inode and puts its modification time back: a change only its content
// shows.
func rewriteInPlace(t *testing.T, p string, b byte) {
	info, err := os.Stat(p)
	require.NoError(t, err)
	f, err := os.OpenFile(p, os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.WriteAt([]byte{b}, 0)
	require.NoError(t, err)
	require.NoError(t, f.Close())
	require.NoError(t, os.Chtimes(p, info.ModTime(), info.ModTime()))
}

// expectWith is the state of w now, with the file at p holding data.
func expectWith(t *testing.T, w advWorkspace, p string, data []byte) attacktest.State {
	expected := attacktest.Take(t, w.dir, w.outside)
	want := filepath.Join(t.TempDir(), filepath.Base(p))
	require.NoError(t, os.WriteFile(want, data, 0o644))
	expected[p] = attacktest.Take(t, want)[want]
	return expected
}

// attack: another program rewrites f.txt at the last moment before its swap, keeping its size and inode and putting its modification time back -> ECONFLICT from its change time (which no program can put back), the write kept, a.txt put back
func TestAttackSameSizeRewriteAtSwap(t *testing.T) {
	for _, noExchange := range []bool{false, true} {
		sameSizeRewrite(t, Options{noExchange: noExchange})
	}
}

func sameSizeRewrite(t *testing.T, opt Options) {
	w := newAdvWorkspace(t)
	f := filepath.Join(w.dir, "f.txt")
	orig, err := os.ReadFile(f)
	require.NoError(t, err)
	rewritten := append([]byte{'L'}, orig[1:]...)
	expected := expectWith(t, w, f, rewritten)
	var wrote attacktest.State
	opt.beforeSwap = func(p string) error {
		if p == "f.txt" {
			rewriteInPlace(t, f, 'L')
			wrote = expected
		}
		return nil
	}
	concurrentAttack(t, w, editFAndA, opt, &wrote)
}

// attack: another program replaces f.txt by a new file of the same size, or appends to it, in the instant between its last check and its exchange -> ECONFLICT from the check of the file the exchange took out, which is swapped back: the other program's file in place as it wrote it, a.txt put back
func TestAttackChangeBetweenCheckAndExchange(t *testing.T) {
	for _, replace := range []bool{true, false} {
		w := newAdvWorkspace(t)
		f := filepath.Join(w.dir, "f.txt")
		orig, err := os.ReadFile(f)
		require.NoError(t, err)
		other := append([]byte{'X'}, orig[1:]...)
		if !replace {
			other = append(orig, "appended\n"...)
		}
		expected := expectWith(t, w, f, other)
		var wrote attacktest.State
		concurrentAttack(t, w, editFAndA, Options{beforeExchange: func(p string) {
			if p != "f.txt" {
				return
			}
			if replace {
				tmp := filepath.Join(w.dir, "f.txt.new")
				require.NoError(t, os.WriteFile(tmp, other, 0o644))
				require.NoError(t, os.Rename(tmp, f))
			} else {
				appendTo(t, f, "appended\n")
			}
			wrote = expected
		}}, &wrote)
	}
}

// attack: another program replaces f.txt by a new file of the same size at the last moment before its swap -> ECONFLICT, the other program's file swapped back in place (by exchange, or never replaced by the fallback's last check), a.txt put back
func TestAttackFileReplacedAtSwap(t *testing.T) {
	for _, noExchange := range []bool{false, true} {
		w := newAdvWorkspace(t)
		f := filepath.Join(w.dir, "f.txt")
		orig, err := os.ReadFile(f)
		require.NoError(t, err)
		other := append([]byte{'X'}, orig[1:]...)
		expected := expectWith(t, w, f, other)
		var wrote attacktest.State
		concurrentAttack(t, w, editFAndA, Options{noExchange: noExchange, beforeSwap: func(p string) error {
			if p == "f.txt" {
				tmp := filepath.Join(w.dir, "f.txt.new")
				require.NoError(t, os.WriteFile(tmp, other, 0o644))
				require.NoError(t, os.Rename(tmp, f))
				wrote = expected
			}
			return nil
		}}, &wrote)
	}
}

// attack: the fallback without exchange (a file system that cannot swap two names) meets the concurrent changes the exchange path meets: an append before the swaps and a write through a held file at the swap -> ECONFLICT, the change kept, nothing of the patch left
func TestAttackConcurrentChangeWithoutExchange(t *testing.T) {
	w := newAdvWorkspace(t)
	var expected attacktest.State
	concurrentAttack(t, w, editFAndA, Options{noExchange: true, beforeCommit: func() {
		appendTo(t, filepath.Join(w.dir, "f.txt"), "appended meanwhile\n")
		expected = settled(attacktest.Take(t, w.dir, w.outside))
	}}, &expected)

	w = newAdvWorkspace(t)
	f := filepath.Join(w.dir, "f.txt")
	orig, err := os.ReadFile(f)
	require.NoError(t, err)
	held, err := os.OpenFile(f, os.O_WRONLY|os.O_APPEND, 0)
	require.NoError(t, err)
	defer held.Close()
	want := expectWith(t, w, f, append(orig, "held write\n"...))
	var wrote attacktest.State
	concurrentAttack(t, w, editFAndA, Options{noExchange: true, beforeSwap: func(p string) error {
		if p == "f.txt" {
			_, err := held.WriteString("held write\n")
			require.NoError(t, err)
			wrote = want
		}
		return nil
	}}, &wrote)
}

// attack: another program edits f.txt after Prepare read it and before Write (the window in which the workspace takes its lock and snapshot) -> ECONFLICT from Write, the edit kept, nothing of the patch written; a second Write of the same prepared patch is refused
func TestAttackEditBetweenPrepareAndWrite(t *testing.T) {
	w := newAdvWorkspace(t)
	root, err := os.OpenRoot(w.dir)
	require.NoError(t, err)
	defer root.Close()
	ctx := context.Background()
	p, rep, err := Prepare(ctx, root, editFAndA, Options{})
	require.NoError(t, err)
	require.False(t, rep.Applied)
	appendTo(t, filepath.Join(w.dir, "f.txt"), "edited meanwhile\n")
	before := attacktest.Take(t, w.dir, w.outside)
	rep, err = p.Write(ctx)
	require.Equal(t, factory.ECONFLICT, factory.ErrorCode(err), "%v", err)
	require.False(t, rep.Applied)
	_, err = p.Write(ctx)
	require.Equal(t, factory.EINVALID, factory.ErrorCode(err), "%v", err)
	attacktest.Unchanged(t, before, w.dir, w.outside)

	// Prepared again, it applies on the edited file.
	p, _, err = Prepare(ctx, root, editFAndA, Options{})
	require.NoError(t, err)
	rep, err = p.Write(ctx)
	require.NoError(t, err)
	require.True(t, rep.Applied)
}
