package patch

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/factory-dev/factory/internal/benchpair"
	"github.com/factory-dev/factory/internal/gittest"
	"github.com/stretchr/testify/require"
)

// benchSpace is a tree of 3000 files (about 100 lines each, 60
// directories), a copy of it, the git diff of edits to 600 of them (two
// hunks each) and the reverse diff, built once per process and file system.
type benchSpace struct {
	once             sync.Once
	base             string // removed by TestMain
	mine, theirs     string
	forward, reverse string
}

// benchSpaces are the file systems the benchmark runs on: the default
// temporary directory, and tmpfs (/dev/shm) where it exists. They differ in
// what creating a file costs: ext4 without a journal skips every inode
// freed in the last minute, so git's 600 creates a round cost it 100-300
// ms there, while factory creates about a dozen; on tmpfs a create is
// cheap and the comparison is CPU against CPU. Both are reported, so the
// file system cannot flatter the ratio.
var benchSpaces = map[string]*benchSpace{"tmp": {}, "tmpfs": {}}

const (
	benchFiles   = 3000
	benchTouched = 600
)

// TestMain removes what outlives any one benchmark or fuzz input: the
// benchmark workspace (9,000 files, 78 MB) and FuzzApply's trees; each
// run left them behind in /tmp.
func TestMain(m *testing.M) {
	code := m.Run()
	for _, d := range []string{benchSpaces["tmp"].base, benchSpaces["tmpfs"].base, fuzzBase} {
		if d != "" {
			os.RemoveAll(d)
		}
	}
	os.Exit(code)
}

func setupBench(b *testing.B, w *benchSpace, parent string) {
	w.once.Do(func() {
		base, err := os.MkdirTemp(parent, "factory-patch-bench-")
		require.NoError(b, err)
		w.base = base
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
		gittest.Run(b, gen, "init", "-q")
		gittest.Run(b, gen, "add", "-A")
		gittest.Run(b, gen, "commit", "-qm", "base")
		for i := 0; i < benchTouched; i++ {
			name := fmt.Sprintf("pkg%02d/file%04d.go", (i*5)%60, i*5)
			f := files[name].clone()
			f.lines[10] = "// edited near the top"
			f.lines = append(f.lines[:60], append([]string{"// inserted", "// lines"}, f.lines[60:]...)...)
			writeTree(b, gen, map[string]*genFile{name: f})
		}
		w.forward = gittest.Run(b, gen, "diff")
		w.reverse = gittest.Run(b, gen, "diff", "-R")
		gittest.Run(b, gen, "checkout", "-q", "--", ".")
		w.mine, w.theirs = filepath.Join(base, "mine"), filepath.Join(base, "theirs")
		for _, d := range []string{w.mine, w.theirs} {
			out, err := exec.Command("cp", "-a", gen, d).CombinedOutput()
			require.NoError(b, err, "%s", out)
		}
	})
}

// BenchmarkApply600Files applies a 600-file patch to a 3000-file tree with
// factory and with `git apply` (a process, as an agent would run it) on
// identical copies, in paired rounds (internal/benchpair): ratio-vs-git is
// the median of the rounds' factory/git ratios. Each side undoes its apply
// with the reverse patch, untimed, so both start every round from the same,
// equally warm tree; and the two copies change hands every round, since
// where a copy's files sit on disk changes what creating a file there
// costs (ext4 skips inodes freed recently, scanning past each of them).
// It runs on the default temporary directory and on tmpfs (see benchSpaces).
func BenchmarkApply600Files(b *testing.B) {
	b.Run("fs=tmp", func(b *testing.B) { benchApply(b, benchSpaces["tmp"], "") })
	if roomy("/dev/shm", 512<<20) {
		b.Run("fs=tmpfs", func(b *testing.B) { benchApply(b, benchSpaces["tmpfs"], "/dev/shm") })
	} else {
		b.Log("fs=tmpfs skipped: no /dev/shm with 512 MiB free")
	}
}

func benchApply(b *testing.B, w *benchSpace, parent string) {
	setupBench(b, w, parent)
	dirs := [2]string{w.mine, w.theirs}
	var roots [2]*os.Root
	for i, d := range dirs {
		require.NoError(b, os.WriteFile(filepath.Join(d, ".git", "fwd.diff"), []byte(w.forward), 0o644))
		require.NoError(b, os.WriteFile(filepath.Join(d, ".git", "rev.diff"), []byte(w.reverse), 0o644))
		r, err := os.OpenRoot(d)
		require.NoError(b, err)
		defer r.Close()
		roots[i] = r
	}
	ctx := context.Background()
	round := 0
	swap := func() { round++ }
	mine := func() time.Duration {
		root := roots[round%2]
		start := time.Now()
		rep, err := Apply(ctx, root, w.forward, Options{})
		d := time.Since(start)
		require.NoError(b, err)
		require.Len(b, rep.Files, benchTouched)
		_, err = Apply(ctx, root, w.reverse, Options{})
		require.NoError(b, err)
		return d
	}
	git := func() time.Duration {
		dir := dirs[(round+1)%2]
		start := time.Now()
		out, err := gittest.Cmd(dir, "", "apply", filepath.Join(dir, ".git", "fwd.diff"))
		d := time.Since(start)
		require.NoError(b, err, out)
		out, err = gittest.Cmd(dir, "", "apply", filepath.Join(dir, ".git", "rev.diff"))
		require.NoError(b, err, out)
		return d
	}
	benchpair.Compare(b, benchpair.MinRounds, swap, mine, benchpair.Side{Name: "git", Run: git})
}
