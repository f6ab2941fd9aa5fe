package patch

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// benchWorkspace is built once per process: a tree of 3000 files (about
// 100 lines each, 60 directories), a copy of it, the git diff of edits to
// 600 of them (two hunks each) and the reverse diff.
var benchWorkspace struct {
	once                   sync.Once
	mine, theirs           string
	forward, reverse, err_ string
}

const (
	benchFiles   = 3000
	benchTouched = 600
)

func setupBench(b *testing.B) {
	w := &benchWorkspace
	w.once.Do(func() {
		base, err := os.MkdirTemp("", "factory-patch-bench-")
		require.NoError(b, err)
		r := rand.New(rand.NewPCG(7, 7))
		files := map[string]*genFile{}
		for i := 0; i < benchFiles; i++ {
			f := &genFile{}
			for j := 0; j < 80+r.IntN(40); j++ {
				f.lines = append(f.lines, fmt.Sprintf("func f%d_%d() int { return %d }", i, j, r.IntN(1e6)))
			}
			files[fmt.Sprintf("pkg%02d/file%04d.go", i%60, i)] = f
		}
		gen := filepath.Join(base, "gen")
		writeTree(b, gen, files)
		mustGit(b, gen, "init", "-q")
		mustGit(b, gen, "add", "-A")
		mustGit(b, gen, "commit", "-qm", "base")
		for i := 0; i < benchTouched; i++ {
			name := fmt.Sprintf("pkg%02d/file%04d.go", (i*5)%60, i*5)
			f := files[name].clone()
			f.lines[10] = "// edited near the top"
			f.lines = append(f.lines[:60], append([]string{"// inserted", "// lines"}, f.lines[60:]...)...)
			writeTree(b, gen, map[string]*genFile{name: f})
		}
		w.forward = mustGit(b, gen, "diff")
		w.reverse = mustGit(b, gen, "diff", "-R")
		mustGit(b, gen, "checkout", "-q", "--", ".")
		w.mine, w.theirs = filepath.Join(base, "mine"), filepath.Join(base, "theirs")
		for _, d := range []string{w.mine, w.theirs} {
			out, err := exec.Command("cp", "-a", gen, d).CombinedOutput()
			require.NoError(b, err, "%s", out)
		}
	})
}

// BenchmarkApply600Files applies a 600-file patch to a 3000-file tree with
// factory and with `git apply` in the same run, on identical copies, and
// reports factory's time over git's as ratio-vs-git. Each iteration undoes
// both with the reverse patch, untimed.
func BenchmarkApply600Files(b *testing.B) {
	setupBench(b)
	w := &benchWorkspace
	fwd, rev := filepath.Join(w.theirs, ".git", "fwd.diff"), filepath.Join(w.theirs, ".git", "rev.diff")
	require.NoError(b, os.WriteFile(fwd, []byte(w.forward), 0o644))
	require.NoError(b, os.WriteFile(rev, []byte(w.reverse), 0o644))
	root, err := os.OpenRoot(w.mine)
	require.NoError(b, err)
	defer root.Close()
	ctx := context.Background()
	var mine, theirs time.Duration
	var ratios []float64
	runMine := func() time.Duration {
		start := time.Now()
		rep, err := Apply(ctx, root, w.forward, Options{})
		d := time.Since(start)
		require.NoError(b, err)
		require.Len(b, rep.Files, benchTouched)
		return d
	}
	runGit := func() time.Duration {
		start := time.Now()
		out, err := gitCmd(b, w.theirs, "", "apply", fwd)
		d := time.Since(start)
		require.NoError(b, err, out)
		return d
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		// Alternate who goes first; the timer counts factory only.
		var m, g time.Duration
		if i%2 == 0 {
			m = runMine()
			b.StopTimer()
			g = runGit()
		} else {
			b.StopTimer()
			g = runGit()
			b.StartTimer()
			m = runMine()
			b.StopTimer()
		}
		mine, theirs = mine+m, theirs+g
		ratios = append(ratios, float64(m)/float64(g))

		_, err := Apply(ctx, root, w.reverse, Options{})
		require.NoError(b, err)
		out, err := gitCmd(b, w.theirs, "", "apply", rev)
		require.NoError(b, err, out)
		b.StartTimer()
	}
	// The median of per-iteration ratios: each pair runs back to back, so
	// the load of a shared machine cancels out better than in the sums.
	slices.Sort(ratios)
	b.ReportMetric(ratios[len(ratios)/2], "ratio-vs-git")
	b.ReportMetric(float64(mine)/float64(theirs), "sum-ratio-vs-git")
	b.ReportMetric(float64(theirs.Nanoseconds())/float64(b.N), "git-ns/op")
}
