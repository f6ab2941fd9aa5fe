//go:build unix

package sandbox_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// benchWorkspace builds the benchmark repository: 20,000 committed files in
// 2,000 folders (20 x 10 x 10), a .gitignore at the top and in every first-
// and second-level folder, and 30,000 ignored files: 10,000 "*.log" files
// scattered among the tracked ones (listed and matched on every walk) and
// 20,000 in 200 ignored build/ folders (pruned).
func benchWorkspace(b *testing.B) string {
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
	for i := 0; i < 20; i++ {
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
	require.Equal(b, 20000, files)
	require.Equal(b, 30000, ignored)
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

// selfCPU returns the CPU time (user + system) this process has used.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkSnapshot compares Snapshot with native git doing the same work
// (cp .git/index T; GIT_INDEX_FILE=T git add -A; git write-tree; git
// commit-tree; git update-ref) in the same run, on the same tree, with one
// Workspace kept open (warm). It reports both times and their ratio
// (factory/git; at or under 1.0 is the target), in wall time and in CPU
// time (user + system, the steadier figure on a busy machine).
func BenchmarkSnapshot(b *testing.B) {
	isolateGit(b)
	dir := benchWorkspace(b)
	ctx := context.Background()
	w := openWorkspace(b, dir)
	_, err := w.Snapshot(ctx, "") // warm: first capture fills the caches
	require.NoError(b, err)

	measure := func(b *testing.B, edit func(i int)) {
		var fac, nat, facCPU, natCPU time.Duration
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			edit(i)
			// Alternate who goes first: the second finds the first's
			// blobs in the object store.
			for turn := 0; turn < 2; turn++ {
				if (i+turn)%2 == 0 {
					b.StartTimer()
					t0, c0 := time.Now(), selfCPU()
					_, err := w.Snapshot(ctx, "")
					fac += time.Since(t0)
					facCPU += selfCPU() - c0
					b.StopTimer()
					require.NoError(b, err)
				} else {
					t0 := time.Now()
					natCPU += nativeSnapshot(b, dir, i)
					nat += time.Since(t0)
				}
			}
		}
		b.ReportMetric(float64(fac.Nanoseconds())/float64(b.N), "factory-ns/op")
		b.ReportMetric(float64(nat.Nanoseconds())/float64(b.N), "git-ns/op")
		b.ReportMetric(float64(fac)/float64(nat), "ratio-vs-git")
		b.ReportMetric(float64(facCPU)/float64(natCPU), "cpu-ratio-vs-git")
	}
	b.Run("clean", func(b *testing.B) {
		measure(b, func(int) {})
	})
	n := 0
	b.Run("10-edits", func(b *testing.B) {
		measure(b, func(int) {
			for k := 0; k < 10; k++ {
				n++
				p := filepath.Join(dir, fmt.Sprintf("pkg%02d/mod%d/dir%d/file%d.go", n%20, n%10, (n/10)%10, n%7))
				require.NoError(b, os.WriteFile(p, []byte(fmt.Sprintf("edit %d\n", n)), 0o644))
			}
		})
	})
}
