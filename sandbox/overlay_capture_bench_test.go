//go:build unix

package sandbox_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/factory-dev/factory/sandbox"
	"github.com/stretchr/testify/require"
)

// BenchmarkIncrementalCopy measures, on the generated 20,000-file workspace,
// what a proposal pays for its copy when the live tree moved on since the
// tree cached for overlays (10 files edited before every iteration):
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
		var fac, mat, nat time.Duration
		for i := 0; i < b.N; i++ {
			edit10(dir)
			s, err := w.Snapshot(ctx, "")
			require.NoError(b, err)
			t0 := time.Now()
			c, err := w.Isolate(ctx, s.ID)
			fac += time.Since(t0)
			require.NoError(b, err)
			require.Equal(b, sandbox.CopyOverlay, c.Kind())
			require.NoError(b, c.Close())

			out := filepath.Join(b.TempDir(), "m")
			t0 = time.Now()
			require.NoError(b, w.Materialize(ctx, s.ID, out))
			mat += time.Since(t0)
			require.NoError(b, os.RemoveAll(out))

			t0 = time.Now()
			runIn(b, dir, idxEnv, "git", "read-tree", s.Tree)
			runIn(b, dir, idxEnv, "git", "checkout-index", "-a", "--prefix="+out+"/")
			nat += time.Since(t0)
			require.NoError(b, os.RemoveAll(out))
		}
		b.ReportMetric(float64(fac.Nanoseconds())/float64(b.N), "factory-ns/op")
		b.ReportMetric(float64(mat.Nanoseconds())/float64(b.N), "materialize-ns/op")
		b.ReportMetric(float64(fac)/float64(mat), "ratio-vs-materialize")
		b.ReportMetric(float64(fac)/float64(nat), "ratio-vs-checkout-index")
	})

	b.Run("snapshotdir", func(b *testing.B) {
		var fast, full, nat time.Duration
		for i := 0; i < b.N; i++ {
			edit10(dir)
			s, err := w.Snapshot(ctx, "")
			require.NoError(b, err)
			c, err := w.Isolate(ctx, s.ID)
			require.NoError(b, err)
			edit10(c.Dir())

			t0 := time.Now()
			r1, err := c.Snapshot(ctx, "")
			fast += time.Since(t0)
			require.NoError(b, err)

			sandbox.SetTestNoFastCopySnap(w, true)
			t0 = time.Now()
			r2, err := c.Snapshot(ctx, "")
			full += time.Since(t0)
			sandbox.SetTestNoFastCopySnap(w, false)
			require.NoError(b, err)
			require.Equal(b, r2.Tree, r1.Tree)

			runIn(b, dir, nil, "cp", ".git/index", tmpIdx)
			t0 = time.Now()
			runIn(b, dir, idxEnv, "git", "--work-tree="+c.Dir(), "add", "-A")
			nat += time.Since(t0)
			require.NoError(b, c.Close())
		}
		b.ReportMetric(float64(fast.Nanoseconds())/float64(b.N), "factory-ns/op")
		b.ReportMetric(float64(full.Nanoseconds())/float64(b.N), "full-walk-ns/op")
		b.ReportMetric(float64(fast)/float64(full), "ratio-vs-full-walk")
		b.ReportMetric(float64(fast)/float64(nat), "ratio-vs-git-add")
	})

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
