//go:build linux

package sandbox_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/factory-dev/factory/internal/attacktest"
	"github.com/factory-dev/factory/sandbox"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// This file checks snapshots taken with the file watcher (Config.Watch)
// against `git add -A && git write-tree` on a temporary index: a snapshot
// that builds on the previous one must hold exactly what a full walk would.

// watchEdit makes one random edit: the generator's (files, symlinks,
// modes, nested .gitignore, commits, nested repositories, global rules),
// or one the watcher finds hardest: a directory renamed or moved, a file
// rewritten with its size and mtime restored, a directory made and filled
// at once.
func watchEdit(g *RandomWorkspace) string {
	switch g.R.Intn(10) {
	case 0:
		d := g.dirs()
		if len(d) == 0 {
			return g.Edit()
		}
		from := d[g.R.Intn(len(d))]
		to := filepath.Join(g.randDir(), g.pick(genDirNames)+"2")
		if strings.HasPrefix(to+"/", from+"/") {
			return "move dir skipped"
		}
		g.makeParents(filepath.Join(to, "x"))
		os.RemoveAll(filepath.Join(g.Dir, to))
		os.Rename(filepath.Join(g.Dir, from), filepath.Join(g.Dir, to))
		g.Log = append(g.Log, "move dir "+from+" -> "+to)
	case 1:
		f := g.files()
		if len(f) == 0 {
			return g.Edit()
		}
		p := f[g.R.Intn(len(f))]
		sameSizeRewrite(g.T, filepath.Join(g.Dir, p))
		g.Log = append(g.Log, "rewrite keeping size and mtime "+p)
	case 2:
		d := filepath.Join(g.randDir(), fmt.Sprintf("fresh%d", g.R.Intn(100)))
		for i := 0; i < 3; i++ {
			g.writeBytes(filepath.Join(d, "sub", g.pick(genFileNames)), g.content(), 0o644)
		}
		g.Log = append(g.Log, "new tree "+d)
	case 3:
		g.Log = append(g.Log, ignoreSubdir(g))
	case 4:
		g.Log = append(g.Log, commitNested(g))
	default:
		return g.Edit()
	}
	return g.Log[len(g.Log)-1]
}

// ignoreSubdir writes, rewrites or removes the .gitignore of a directory
// so that one of its subdirectories becomes ignored or visible again.
func ignoreSubdir(g *RandomWorkspace) string {
	d := g.dirs()
	if len(d) == 0 {
		return g.Edit()
	}
	sub := d[g.R.Intn(len(d))]
	parent, name := filepath.Split(sub)
	ign := filepath.Join(parent, ".gitignore")
	switch g.R.Intn(3) {
	case 0:
		g.write(ign, name+"/\n")
	case 1:
		g.write(ign, "*\n!*/\n!"+name+"/**\n")
	default:
		os.Remove(filepath.Join(g.Dir, ign))
	}
	return "ignore toggle " + ign + " for " + name
}

// commitNested commits in an embedded repository without touching the
// outer index: only its HEAD moves, which no watched directory reports.
func commitNested(g *RandomWorkspace) string {
	for _, d := range g.dirs() {
		if fi, err := os.Lstat(filepath.Join(g.Dir, d, ".git")); err == nil && fi.IsDir() {
			os.WriteFile(filepath.Join(g.Dir, d, "f"), g.content(), 0o644)
			g.gitEnv(nil, "-C", filepath.Join(g.Dir, d), "add", "-A")
			g.gitEnv(nil, "-C", filepath.Join(g.Dir, d), "commit", "-q", "--allow-empty", "-m", "again")
			return "nested commit " + d
		}
	}
	return g.Edit()
}

// sameSizeRewrite changes a regular file's bytes without changing its size
// or its mtime (touch -r), so that only the ctime tells.
func sameSizeRewrite(t testing.TB, p string) {
	fi, err := os.Lstat(p)
	if err != nil || !fi.Mode().IsRegular() {
		return
	}
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	if len(b) == 0 {
		b = []byte{0}
	}
	for i := range b {
		b[i] ^= 0x20
	}
	require.NoError(t, os.WriteFile(p, b, 0o644))
	if fi.Size() > 0 {
		require.NoError(t, os.Chtimes(p, fi.ModTime(), fi.ModTime()))
	}
}

// exactGitTree is `git add -A && git write-tree` on a copy of the index
// whose mtime is set far in the past, so that git finds every entry racy
// and compares contents instead of trusting stat data. git compares ctimes
// to the second only: a same-size rewrite with its mtime restored within
// the second of the last `git add` is invisible to git's stat check (and
// so to GitTree), but not to the watcher.
func exactGitTree(t testing.TB, dir string) string {
	t.Helper()
	tmp := filepath.Join(t.TempDir(), "index")
	if b, err := os.ReadFile(filepath.Join(dir, ".git", "index")); err == nil {
		require.NoError(t, os.WriteFile(tmp, b, 0o644))
		require.NoError(t, os.Chtimes(tmp, time.Unix(1, 0), time.Unix(1, 0)))
	}
	var out []byte
	for _, args := range [][]string{{"add", "-A"}, {"write-tree"}} {
		cmd := exec.Command("git", args...)
		cmd.Dir, cmd.Env = dir, append(os.Environ(), "GIT_INDEX_FILE="+tmp)
		var err error
		out, err = cmd.CombinedOutput()
		require.NoError(t, err, "git %v: %s", args, out)
	}
	return strings.TrimSpace(string(out))
}

// editWhileSnapshot starts writes in another goroutine and takes a
// snapshot while they run; the result may be any mix (or ECONFLICT), but
// the watcher must not lose the writes for the next snapshot.
func editWhileSnapshot(t *testing.T, g *RandomWorkspace, w *sandbox.Workspace, step int) {
	var wg sync.WaitGroup
	wg.Add(1)
	names := []string{g.randDir(), g.randDir(), g.randDir()}
	go func() {
		defer wg.Done()
		for i, d := range names {
			p := filepath.Join(g.Dir, d, fmt.Sprintf("during%d-%d", step, i))
			os.MkdirAll(filepath.Dir(p), 0o755)
			os.WriteFile(p, []byte(fmt.Sprintf("written during snapshot %d\n", i)), 0o644)
		}
	}()
	w.Snapshot(context.Background(), "")
	wg.Wait()
	g.Log = append(g.Log, fmt.Sprintf("writes during snapshot in %v", names))
}

// TestWatchedSnapshotMatchesGitAddAll is the watcher's differential test:
// random workspaces, random edits (some made while a snapshot runs), and
// after each step the watched snapshot's tree must be the tree native git
// writes. Rerun a failure with FACTORY_SNAPSHOT_SEED=<seed>.
func TestWatchedSnapshotMatchesGitAddAll(t *testing.T) {
	isolateGit(t)
	ctx := context.Background()
	seeds, steps := snapshotSeeds(t, 6), 30
	if testing.Short() {
		seeds, steps = seeds[:2], 20
	}
	incremental := 0
	for _, seed := range seeds {
		g := NewRandomWorkspace(t, seed)
		w := openWatched(t, g.Dir, 0)
		_, err := w.Snapshot(ctx, "")
		require.NoError(t, err, "seed %d: first snapshot", seed)
		for step := 0; step < steps; step++ {
			what := watchEdit(g)
			if g.R.Intn(5) == 0 {
				editWhileSnapshot(t, g, w, step)
			}
			s, err := w.Snapshot(ctx, "")
			require.NoError(t, err, "seed %d step %d (%s)", seed, step, what)
			info := sandbox.LastCaptureOf(w)
			if info.Incremental {
				incremental++
			}
			want := exactGitTree(t, g.Dir)
			if !assert.Equal(t, want, s.Tree, "seed %d step %d: watched snapshot (%+v) differs from git add -A (FACTORY_SNAPSHOT_SEED=%d)\nedits: %s\ndiff (git -> factory):\n%s",
				seed, step, info, seed, strings.Join(g.Log, "; "), diffTrees(g.Dir, want, s.Tree)) {
				return
			}
		}
	}
	// Most steps change neither the index nor the global rules: unless
	// the watcher vouched for many of them, this test checked nothing new.
	t.Logf("incremental %d of %d", incremental, len(seeds)*steps)
	require.Greater(t, incremental, len(seeds)*steps/4, "too few snapshots built on the watcher")
}

// liveTree fingerprints what a snapshot must never change: the working
// tree and the user's index, HEAD and branches (objects and
// refs/factory are the snapshot's to write).
func liveTree(t testing.TB, dir string) []string {
	t.Helper()
	des, err := os.ReadDir(dir)
	require.NoError(t, err)
	paths := []string{filepath.Join(dir, ".git", "index"), filepath.Join(dir, ".git", "HEAD"), filepath.Join(dir, ".git", "refs", "heads")}
	for _, de := range des {
		if de.Name() != ".git" {
			paths = append(paths, filepath.Join(dir, de.Name()))
		}
	}
	return paths
}

// attack: rewrite a file keeping its size and restoring its mtime (touch -r) so a watched snapshot keeps the old content -> the watcher saw the write; the snapshot holds the new bytes, as git add -A does
func TestAttackWatchSameSizeSameMtime(t *testing.T) {
	isolateGit(t)
	ctx := context.Background()
	g := NewRandomWorkspace(t, 1)
	g.write("src/main.go", "package main // version one\n")
	g.Git("add", "-A")
	g.Git("commit", "-q", "-m", "base")
	w := openWatched(t, g.Dir, 0)
	first, err := w.Snapshot(ctx, "")
	require.NoError(t, err)
	_, err = w.Snapshot(ctx, "") // the base the watcher vouches on
	require.NoError(t, err)

	p := filepath.Join(g.Dir, "src", "main.go")
	fi, err := os.Lstat(p)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(p, []byte("package main // version TWO\n"), 0o644))
	require.NoError(t, os.Chtimes(p, fi.ModTime(), fi.ModTime()))
	paths := liveTree(t, g.Dir)
	before := attacktest.Take(t, paths...)

	s, err := w.Snapshot(ctx, "")
	require.NoError(t, err)
	require.True(t, sandbox.LastCaptureOf(w).Incremental, "the watcher should have vouched")
	require.NotEqual(t, first.Tree, s.Tree, "the rewrite was missed")
	require.Equal(t, exactGitTree(t, g.Dir), s.Tree)
	attacktest.Unchanged(t, before, paths...)
}

// attack: flood the tree with more changes between two snapshots than the watcher holds (a rename storm) so it forgets some -> it overflows, the next snapshot walks everything and equals git add -A
func TestAttackWatchQueueOverflow(t *testing.T) {
	isolateGit(t)
	ctx := context.Background()
	g := NewRandomWorkspace(t, 2)
	w := openWatched(t, g.Dir, 4)
	_, err := w.Snapshot(ctx, "")
	require.NoError(t, err)
	// In the top directory, which the first snapshot armed: a new
	// directory's own files are not watched until a snapshot walks it.
	for i := 0; i < 20; i++ {
		g.write(fmt.Sprintf("storm%02d.md", i), fmt.Sprintf("file %d\n", i))
		require.NoError(t, os.Rename(filepath.Join(g.Dir, fmt.Sprintf("storm%02d.md", i)), filepath.Join(g.Dir, fmt.Sprintf("moved%02d.md", i))))
	}
	paths := liveTree(t, g.Dir)
	before := attacktest.Take(t, paths...)

	s, err := w.Snapshot(ctx, "")
	require.NoError(t, err)
	require.False(t, sandbox.LastCaptureOf(w).Incremental, "an overflowed watcher must not vouch")
	require.Equal(t, exactGitTree(t, g.Dir), s.Tree)
	attacktest.Unchanged(t, before, paths...)

	// Armed again by that full walk: the next edit is seen.
	g.write("moved00.md", "changed\n")
	s, err = w.Snapshot(ctx, "")
	require.NoError(t, err)
	require.True(t, sandbox.LastCaptureOf(w).Incremental)
	require.Equal(t, exactGitTree(t, g.Dir), s.Tree)
}

// TestWatchedSnapshotFirstIsFull: the first snapshot after the watcher
// starts cannot build on anything, and an edit made before the watcher
// started is in it.
func TestWatchedSnapshotFirstIsFull(t *testing.T) {
	isolateGit(t)
	ctx := context.Background()
	g := NewRandomWorkspace(t, 3)
	w0 := openWorkspace(t, g.Dir)
	_, err := w0.Snapshot(ctx, "")
	require.NoError(t, err)
	g.write("late.txt", "written before the watcher started\n")
	w := openWatched(t, g.Dir, 0)
	s, err := w.Snapshot(ctx, "")
	require.NoError(t, err)
	require.False(t, sandbox.LastCaptureOf(w).Incremental)
	require.Equal(t, exactGitTree(t, g.Dir), s.Tree)
	s, err = w.Snapshot(ctx, "")
	require.NoError(t, err)
	info := sandbox.LastCaptureOf(w)
	require.True(t, info.Incremental)
	require.Zero(t, info.Listed, "nothing was touched: nothing to list")
	require.Equal(t, exactGitTree(t, g.Dir), s.Tree)
}

// TestWatchedSnapshotAfterObjectsCollected: another process deletes every
// snapshot ref and collects the unreachable objects, the previous tree
// among them; the next watched snapshot must not build on it, and every
// object of its tree must exist.
func TestWatchedSnapshotAfterObjectsCollected(t *testing.T) {
	isolateGit(t)
	ctx := context.Background()
	g := NewRandomWorkspace(t, 12)
	w := openWatched(t, g.Dir, 0)
	g.write("gone/state.txt", "one\n")
	g.write("kept/deep/untracked.md", "only ever in snapshots\n") // a subtree no commit holds
	_, err := w.Snapshot(ctx, "")
	require.NoError(t, err)
	g.write("gone/state.txt", "two\n")
	s, err := w.Snapshot(ctx, "")
	require.NoError(t, err)
	require.True(t, sandbox.LastCaptureOf(w).Incremental)
	for _, ref := range strings.Fields(g.Git("for-each-ref", "--format=%(refname)", "refs/factory/")) {
		g.Git("update-ref", "-d", ref)
	}
	g.Git("reflog", "expire", "--expire=now", "--all")
	g.Git("gc", "-q", "--prune=now")
	require.Error(t, exec.Command("git", "-C", g.Dir, "cat-file", "-e", s.Tree).Run(), "the previous tree should be collected")

	g.write("gone/state.txt", "three\n")
	s, err = w.Snapshot(ctx, "")
	require.NoError(t, err)
	require.False(t, sandbox.LastCaptureOf(w).Incremental, "built on a tree that no longer exists")
	require.Equal(t, exactGitTree(t, g.Dir), s.Tree)
	checkObjects(t, g.Dir, s.Tree)
}
