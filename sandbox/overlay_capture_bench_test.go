//go:build unix

package sandbox_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/factory-dev/factory"
	"github.com/factory-dev/factory/internal/benchpair"
	"github.com/factory-dev/factory/sandbox"
	"github.com/stretchr/testify/require"
)

// BenchmarkIncrementalCopy measures, on the generated 20,000-file workspace,
// what a proposal pays for its copy when the live tree moved on since the
// tree cached for overlays (10 files edited before every round), in paired
// rounds (internal/benchpair):
//
//   - isolate: Isolate of the new snapshot (an overlay over the cached tree,
//     the 10 files written through it), against, in the same run,
//     materialising the same snapshot (what a cache miss used to cost:
//     ratio-vs-materialize) and git checkout-index -a of it
//     (ratio-vs-checkout-index).
//   - snapshotdir: Copy.Snapshot of such a copy after 10 more files were
//     written in it (the fast capture from the overlay's upper dir),
//     against the full walk of the same copy (ratio-vs-full-walk) and
//     GIT_INDEX_FILE=<copy of the index> git --work-tree=<copy> add -A
//     (ratio-vs-git-add).
//   - cycle: the sandbox's share of one proposal, phase by phase: snapshot
//     of the live tree (one file edited), Isolate of it, one file written
//     in the copy, Copy.Snapshot, Close.
func BenchmarkIncrementalCopy(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("overlay copies need root")
	}
	isolateGit(b)
	dir := benchWorkspace(b)
	ctx := context.Background()
	w := openWorkspace(b, dir)
	base, err := w.Snapshot(ctx, "bench base")
	require.NoError(b, err)
	c, err := w.Isolate(ctx, base.ID) // the cached tree
	require.NoError(b, err)
	require.NoError(b, c.Close())

	n := 0
	edit10 := func(root string) {
		for k := 0; k < 10; k++ {
			n++
			p := filepath.Join(root, fmt.Sprintf("pkg%02d/mod%d/dir%d/file%d.go", n%20, n%10, (n/10)%10, n%7))
			require.NoError(b, os.WriteFile(p, []byte(fmt.Sprintf("edit %d\n", n)), 0o644))
		}
	}
	tmpIdx := filepath.Join(b.TempDir(), "T")
	idxEnv := []string{"GIT_INDEX_FILE=" + tmpIdx}

	b.Run("isolate", func(b *testing.B) {
		var s factory.Snapshot
		newSnapshot := func() {
			edit10(dir)
			var err error
			s, err = w.Snapshot(ctx, "")
			require.NoError(b, err)
		}
		isolate := func() time.Duration {
			t0 := time.Now()
			c, err := w.Isolate(ctx, s.ID)
			d := time.Since(t0)
			require.NoError(b, err)
			require.Equal(b, sandbox.CopyOverlay, c.Kind())
			require.NoError(b, c.Close())
			return d
		}
		materialize := func() time.Duration {
			out := filepath.Join(b.TempDir(), "m")
			t0 := time.Now()
			require.NoError(b, w.Materialize(ctx, s.ID, out))
			d := time.Since(t0)
			require.NoError(b, os.RemoveAll(out))
			return d
		}
		benchpair.Compare(b, benchpair.MinRounds, newSnapshot, isolate,
			benchpair.Side{Name: "materialize", Run: materialize}, checkoutIndexSide(b, dir, idxEnv, func() string { return s.Tree }))
	})

	b.Run("snapshotdir", func(b *testing.B) { benchCopySnapshot(b, w, dir, edit10, tmpIdx) })

	b.Run("cycle", func(b *testing.B) {
		var snap, iso, snapDir, closeT time.Duration
		for i := 0; i < b.N; i++ {
			p := filepath.Join(dir, "pkg00", "mod0", "dir0", "file0.go")
			require.NoError(b, os.WriteFile(p, []byte(fmt.Sprintf("live %d\n", i)), 0o644))
			t0 := time.Now()
			s, err := w.Snapshot(ctx, "")
			snap += time.Since(t0)
			require.NoError(b, err)
			t0 = time.Now()
			c, err := w.Isolate(ctx, s.ID)
			iso += time.Since(t0)
			require.NoError(b, err)
			require.NoError(b, os.WriteFile(filepath.Join(c.Dir(), "pkg01", "mod1", "dir1", "file1.go"), []byte(fmt.Sprintf("copy %d\n", i)), 0o644))
			t0 = time.Now()
			_, err = c.Snapshot(ctx, "")
			snapDir += time.Since(t0)
			require.NoError(b, err)
			t0 = time.Now()
			require.NoError(b, c.Close())
			closeT += time.Since(t0)
		}
		ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 / float64(b.N) }
		b.ReportMetric(ms(snap), "snapshot-ms/op")
		b.ReportMetric(ms(iso), "isolate-ms/op")
		b.ReportMetric(ms(snapDir), "snapshotdir-ms/op")
		b.ReportMetric(ms(closeT), "close-ms/op")
	})
}

// benchCopySnapshot is BenchmarkIncrementalCopy/snapshotdir: each round
// snapshots a new copy holding 10 edits; every side captures the same
// copy, and must find the same tree.
func benchCopySnapshot(b *testing.B, w *sandbox.Workspace, dir string, edit10 func(string), tmpIdx string) {
	ctx := context.Background()
	idxEnv := []string{"GIT_INDEX_FILE=" + tmpIdx}
	var c *sandbox.Copy
	var trees []string
	endRound := func() {
		if c != nil {
			require.NoError(b, c.Close())
		}
		require.Len(b, slices.Compact(trees), min(len(trees), 1), "fast and full capture agree")
		trees = nil
	}
	newCopy := func() {
		endRound()
		edit10(dir)
		s, err := w.Snapshot(ctx, "")
		require.NoError(b, err)
		c, err = w.Isolate(ctx, s.ID)
		require.NoError(b, err)
		edit10(c.Dir())
	}
	capture := func(full bool) func() time.Duration {
		return func() time.Duration {
			sandbox.SetTestNoFastCopySnap(w, full)
			defer sandbox.SetTestNoFastCopySnap(w, false)
			t0 := time.Now()
			r, err := c.Snapshot(ctx, "")
			d := time.Since(t0)
			require.NoError(b, err)
			trees = append(trees, r.Tree)
			return d
		}
	}
	gitAdd := func() time.Duration {
		runIn(b, dir, nil, "cp", ".git/index", tmpIdx)
		t0 := time.Now()
		runIn(b, dir, idxEnv, "git", "--work-tree="+c.Dir(), "add", "-A")
		return time.Since(t0)
	}
	benchpair.Compare(b, benchpair.MinRounds, newCopy, capture(false),
		benchpair.Side{Name: "full-walk", Run: capture(true)}, benchpair.Side{Name: "git-add", Run: gitAdd})
	endRound()
}
