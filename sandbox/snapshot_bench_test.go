//go:build unix

package sandbox_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/factory-dev/factory/internal/benchpair"
	"github.com/factory-dev/factory/sandbox"
	"github.com/stretchr/testify/require"
)

// benchWorkspace builds the benchmark repository: 20,000 committed files in
// 2,000 folders (20 x 10 x 10), a .gitignore at the top and in every first-
// and second-level folder, and 30,000 ignored files: 10,000 "*.log" files
// scattered among the tracked ones (listed and matched on every walk) and
// 20,000 in 200 ignored build/ folders (pruned).
func benchWorkspace(b *testing.B) string { return benchWorkspaceScaled(b, 1) }

// benchWorkspaceScaled is benchWorkspace with everything multiplied by
// scale (5: 100,000 files in 10,000 folders).
func benchWorkspaceScaled(b *testing.B, scale int) string {
	b.Helper()
	dir := b.TempDir()
	if r, err := filepath.EvalSymlinks(dir); err == nil {
		dir = r
	}
	git := func(args ...string) {
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		require.NoError(b, err, "git %v: %s", args, out)
	}
	git("init", "-q", ".")
	// No background gc or maintenance racing with the timings (or with
	// the removal of the directory at the end).
	git("config", "gc.auto", "0")
	git("config", "maintenance.auto", "false")
	write := func(rel, content string) {
		p := filepath.Join(dir, rel)
		require.NoError(b, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(b, os.WriteFile(p, []byte(content), 0o644))
	}
	body := strings.Repeat("some source text for the benchmark\n", 30)
	write(".gitignore", "*.log\n/tmp/\n")
	files, ignored := 0, 0
	for i := 0; i < 20*scale; i++ {
		top := fmt.Sprintf("pkg%02d", i)
		write(top+"/.gitignore", "build/\n!keep.log\n*.tmp\n")
		for j := 0; j < 10; j++ {
			mid := fmt.Sprintf("%s/mod%d", top, j)
			write(mid+"/.gitignore", "*.o\n!main.o\n")
			for k := 0; k < 10; k++ {
				leaf := fmt.Sprintf("%s/dir%d", mid, k)
				for f := 0; f < 10; f++ {
					write(fmt.Sprintf("%s/file%d.go", leaf, f), fmt.Sprintf("%s// %s %d\n", body, leaf, f))
					files++
				}
				for f := 0; f < 5; f++ {
					write(fmt.Sprintf("%s/debug%d.log", leaf, f), "log\n")
					ignored++
				}
			}
			if j%5 == 0 { // 2 x 20 x ... = 200 build folders below
				for k := 0; k < 5; k++ {
					for f := 0; f < 100; f++ {
						write(fmt.Sprintf("%s/dir%d/build/out%d.bin", mid, k, f), "bin\n")
						ignored++
					}
				}
			}
		}
	}
	require.Equal(b, 20000*scale, files)
	require.Equal(b, 30000*scale, ignored)
	git("add", "-A")
	git("commit", "-q", "-m", "bench")
	return dir
}

// nativeSnapshot does with git what Snapshot does: capture the working
// tree as a commit under a ref without touching the index. It returns the
// CPU time (user + system) the processes used.
func nativeSnapshot(b *testing.B, dir string, n int) time.Duration {
	var cpu time.Duration
	tmp := filepath.Join(b.TempDir(), "T")
	run := func(env []string, stdin string, args ...string) string {
		cmd := exec.Command(args[0], args[1:]...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), env...)
		if stdin != "" {
			cmd.Stdin = strings.NewReader(stdin)
		}
		out, err := cmd.Output()
		require.NoError(b, err, "%v", args)
		cpu += cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
		return strings.TrimSpace(string(out))
	}
	env := []string{"GIT_INDEX_FILE=" + tmp}
	run(nil, "", "cp", ".git/index", tmp)
	run(env, "", "git", "add", "-A")
	tree := run(env, "", "git", "write-tree")
	c := run(nil, "", "git", "commit-tree", "-p", "HEAD", "-m", "native snapshot", tree)
	run(nil, "", "git", "update-ref", fmt.Sprintf("refs/bench/s%d", n), c)
	return cpu
}

// BenchmarkSnapshot compares Snapshot with native git doing the same work
// (cp .git/index T; GIT_INDEX_FILE=T git add -A; git write-tree; git
// commit-tree; git update-ref) on an identical twin of the tree, in paired rounds
// (internal/benchpair): a warm server (one Workspace kept open with its file
// watcher, as serve runs) on a clean tree and after 10 edits, and the
// first snapshot of a fresh server (a new Workspace each round). With
// FACTORY_BENCH_100K=1 it also runs on 100,000 files.
func BenchmarkSnapshot(b *testing.B) {
	isolateGit(b)
	scales := []int{1}
	if os.Getenv("FACTORY_BENCH_100K") != "" {
		scales = append(scales, 5)
	}
	for _, scale := range scales {
		b.Run(fmt.Sprintf("files=%d", 20000*scale), func(b *testing.B) {
			benchSnapshotScale(b, scale)
		})
	}
}

// openWatched opens dir with the file watcher on, holding at most queue
// touched paths between two snapshots (0: the default).
func openWatched(t testing.TB, dir string, queue int) *sandbox.Workspace {
	t.Helper()
	w, err := sandbox.Open(context.Background(), sandbox.Config{Root: dir, Watch: true, WatchQueue: queue})
	require.NoError(t, err)
	t.Cleanup(func() { w.Close() })
	if runtime.GOOS == "linux" {
		require.Empty(t, w.WatchStatus())
	}
	return w
}

// benchSnapshotScale measures Snapshot on one repository and native git on
// a twin built the same way and edited alike: on one shared object store
// whichever side went second found the other's new blobs and trees
// already written, so the order of a round, not the code, decided it.
func benchSnapshotScale(b *testing.B, scale int) {
	dir := benchWorkspaceScaled(b, scale)
	twin := benchWorkspaceScaled(b, scale)
	ctx := context.Background()
	w := openWatched(b, dir, 0)
	_, err := w.Snapshot(ctx, "") // warm: the first capture arms the watcher and fills the caches
	require.NoError(b, err)
	snap := func(w *sandbox.Workspace) time.Duration {
		t0 := time.Now()
		_, err := w.Snapshot(ctx, "")
		require.NoError(b, err)
		return time.Since(t0)
	}
	round := 0
	native := benchpair.Side{Name: "git", Run: func() time.Duration {
		round++
		t0 := time.Now()
		nativeSnapshot(b, twin, round)
		return time.Since(t0)
	}}
	b.Run("clean", func(b *testing.B) {
		benchpair.Pair(b, benchpair.MinRounds, func() time.Duration { return snap(w) }, native)
	})
	n := 0
	b.Run("10-edits", func(b *testing.B) {
		edit := func() {
			for k := 0; k < 10; k++ {
				n++
				rel := fmt.Sprintf("pkg%02d/mod%d/dir%d/file%d.go", n%(20*scale), n%10, (n/10)%10, n%7)
				for _, d := range []string{dir, twin} {
					require.NoError(b, os.WriteFile(filepath.Join(d, rel), []byte(fmt.Sprintf("edit %d\n", n)), 0o644))
				}
			}
		}
		benchpair.Compare(b, benchpair.MinRounds, edit, func() time.Duration { return snap(w) }, native)
	})
	b.Run("first-of-fresh-server", func(b *testing.B) {
		var fresh *sandbox.Workspace
		open := func() {
			if fresh != nil {
				fresh.Close()
			}
			fresh = openWatched(b, dir, 0)
		}
		benchpair.Compare(b, benchpair.MinRounds, open, func() time.Duration { return snap(fresh) }, native)
		fresh.Close()
	})
}
