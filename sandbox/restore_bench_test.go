//go:build unix

package sandbox_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/factory-dev/factory/internal/benchpair"
	"github.com/factory-dev/factory/sandbox"
	"github.com/stretchr/testify/require"
)

// runIn runs argv in dir with extra environment and returns trimmed stdout.
func runIn(b *testing.B, dir string, env []string, argv ...string) string {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.Output()
	require.NoError(b, err, "%v", argv)
	return strings.TrimSpace(string(out))
}

// checkoutIndexSide is native git writing a tree into an empty directory
// (git read-tree into the index of idxEnv, git checkout-index -a), the
// reference of Isolate and Materialize.
func checkoutIndexSide(b *testing.B, dir string, idxEnv []string, tree func() string) benchpair.Side {
	return benchpair.Side{Name: "checkout-index", Run: func() time.Duration {
		out := filepath.Join(b.TempDir(), "native")
		t0 := time.Now()
		runIn(b, dir, idxEnv, "git", "read-tree", tree())
		runIn(b, dir, idxEnv, "git", "checkout-index", "-a", "--prefix="+out+"/")
		d := time.Since(t0)
		require.NoError(b, os.RemoveAll(out))
		return d
	}}
}

// BenchmarkRestoreAndIsolate measures, on the shared generated workspace
// (20,000 files in 2,000 folders, nested .gitignore files, 30,000 ignored
// files), with one warm Workspace, in paired rounds (internal/benchpair):
//
//   - restore-10-files: Restore of a snapshot after 10 files were edited,
//     against native git doing the same work in the same run (learn the
//     current state, then write the target: cp .git/index T;
//     GIT_INDEX_FILE=T git add -A; GIT_INDEX_FILE=T git read-tree -m -u
//     <tree>), ratio-vs-git; and ratio-vs-read-tree against the read-tree
//     step alone, with T prepared outside the timing.
//   - isolate/*: Isolate of a snapshot as a warm overlay (lower dir cached),
//     a plain copy, and Materialize, against git checkout-index -a of the
//     same tree into an empty directory (ratio-vs-checkout-index).
func BenchmarkRestoreAndIsolate(b *testing.B) {
	isolateGit(b)
	dir := benchWorkspace(b)
	ctx := context.Background()
	w := openWorkspace(b, dir)
	base, err := w.Snapshot(ctx, "bench base")
	require.NoError(b, err)

	n := 0
	edit10 := func() {
		for k := 0; k < 10; k++ {
			n++
			p := filepath.Join(dir, fmt.Sprintf("pkg%02d/mod%d/dir%d/file%d.go", n%20, n%10, (n/10)%10, n%7))
			require.NoError(b, os.WriteFile(p, []byte(fmt.Sprintf("edit %d\n", n)), 0o644))
		}
	}
	tmpIdx := filepath.Join(b.TempDir(), "T")
	idxEnv := []string{"GIT_INDEX_FILE=" + tmpIdx}

	b.Run("restore-10-files", func(b *testing.B) {
		factoryRestore := func() time.Duration {
			edit10()
			t0 := time.Now()
			res, err := w.Restore(ctx, base.ID, nil)
			d := time.Since(t0)
			require.NoError(b, err)
			require.Len(b, res.Written, 10)
			return d
		}
		// Native git learns the current state, then writes the target;
		// read-tree alone is the second half, its index prepared untimed.
		gitRestore := func(readTreeOnly bool) func() time.Duration {
			return func() time.Duration {
				edit10()
				t0 := time.Now()
				runIn(b, dir, nil, "cp", ".git/index", tmpIdx)
				runIn(b, dir, idxEnv, "git", "add", "-A")
				if readTreeOnly {
					t0 = time.Now()
				}
				runIn(b, dir, idxEnv, "git", "read-tree", "-m", "-u", base.Tree)
				return time.Since(t0)
			}
		}
		benchpair.Compare(b, benchpair.MinRounds, nil, factoryRestore,
			benchpair.Side{Name: "git", Run: gitRestore(false)}, benchpair.Side{Name: "read-tree", Run: gitRestore(true)})
	})

	checkoutIndex := func(b *testing.B) benchpair.Side {
		return checkoutIndexSide(b, dir, idxEnv, func() string { return base.Tree })
	}
	isolate := func(b *testing.B, kind string, noOverlay bool) {
		sandbox.SetTestNoOverlay(w, noOverlay)
		defer sandbox.SetTestNoOverlay(w, false)
		if c, err := w.Isolate(ctx, base.ID); err == nil { // warm the tree cache
			c.Close()
		}
		benchpair.Pair(b, benchpair.MinRounds, func() time.Duration {
			t0 := time.Now()
			c, err := w.Isolate(ctx, base.ID)
			d := time.Since(t0)
			require.NoError(b, err)
			require.Equal(b, kind, c.Kind())
			require.NoError(b, c.Close())
			return d
		}, checkoutIndex(b))
	}
	if os.Geteuid() == 0 {
		b.Run("isolate/overlay-warm", func(b *testing.B) { isolate(b, sandbox.CopyOverlay, false) })
	}
	b.Run("isolate/copy", func(b *testing.B) { isolate(b, sandbox.CopyPlain, true) })
	b.Run("materialize", func(b *testing.B) {
		benchpair.Pair(b, benchpair.MinRounds, func() time.Duration {
			out := filepath.Join(b.TempDir(), "m")
			t0 := time.Now()
			require.NoError(b, w.Materialize(ctx, base.ID, out))
			d := time.Since(t0)
			require.NoError(b, os.RemoveAll(out))
			return d
		}, checkoutIndex(b))
	})
}
