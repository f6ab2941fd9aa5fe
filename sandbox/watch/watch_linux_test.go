//go:build linux

package watch

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
)

func newWatcher(t *testing.T, queue int) (*Watcher, string) {
	t.Helper()
	dir := t.TempDir()
	w, err := New(Config{Root: dir, QueueSize: queue})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, w.Close()) })
	return w, dir
}

func write(t *testing.T, dir, rel, content string) {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(rel))
	require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
	require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
}

// begin is Begin with the paths sorted.
func begin(w *Watcher) ([]string, bool) {
	ps, ok := w.Begin()
	slices.Sort(ps)
	return ps, ok
}

func TestWatcherVouchesOnlyAfterAFullCapture(t *testing.T) {
	w, dir := newWatcher(t, 0)
	_, ok := begin(w)
	require.False(t, ok, "the first capture after start must walk everything")
	w.Watch("")
	write(t, dir, "a.txt", "one")
	ps, ok := begin(w)
	require.True(t, ok)
	require.Equal(t, []string{"a.txt"}, ps)
	ps, ok = begin(w)
	require.True(t, ok)
	require.Empty(t, ps, "touched paths belong to one capture only")
}

func TestWatcherReportsNewDirectoriesAndMoves(t *testing.T) {
	w, dir := newWatcher(t, 0)
	write(t, dir, "d/sub/f", "x")
	begin(w)
	w.Watch("")
	w.Watch("d/")
	w.Watch("d/sub/")
	require.NoError(t, os.Rename(filepath.Join(dir, "d", "sub"), filepath.Join(dir, "moved")))
	write(t, dir, "moved/g", "y") // its old watch is gone: the capture re-walks moved/
	ps, ok := begin(w)
	require.True(t, ok)
	require.Equal(t, []string{"d/sub", "moved"}, ps)
	require.Equal(t, 2, w.Watched(), "the watch of the moved directory was released")
}

func TestWatcherOverflowsPastItsQueue(t *testing.T) {
	w, dir := newWatcher(t, 3)
	begin(w)
	w.Watch("")
	for _, n := range []string{"a", "b", "c", "d"} {
		write(t, dir, n, n)
	}
	_, ok := begin(w)
	require.False(t, ok, "more touched paths than the queue holds")
	write(t, dir, "e", "e")
	ps, ok := begin(w)
	require.True(t, ok, "vouches again after the full capture that followed")
	require.Equal(t, []string{"e"}, ps)
}

func TestWatcherAbortAndUnwatchable(t *testing.T) {
	w, dir := newWatcher(t, 0)
	begin(w)
	w.Watch("")
	w.Abort()
	_, ok := begin(w)
	require.False(t, ok, "a failed capture is no base")
	w.Watch("")
	w.Watch("missing/")
	_, ok = begin(w)
	require.False(t, ok, "a directory that could not be watched")
	write(t, dir, "f", "f")
	ps, ok := begin(w)
	require.True(t, ok)
	require.Equal(t, []string{"f"}, ps)
	require.Empty(t, w.Status())
}

func TestWatcherRootMoved(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "root")
	require.NoError(t, os.Mkdir(dir, 0o755))
	w, err := New(Config{Root: dir})
	require.NoError(t, err)
	defer w.Close()
	begin(w)
	w.Watch("")
	require.NoError(t, os.Rename(dir, filepath.Join(parent, "elsewhere")))
	_, ok := begin(w)
	require.False(t, ok)
}
