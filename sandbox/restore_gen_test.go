package sandbox_test

import (
	"context"
	"crypto/sha1"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/factory-dev/factory"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// gitStateOf fingerprints what diff and restore must never change: the
// bytes and mtime of .git/index, HEAD, and every ref outside refs/factory/.
func gitStateOf(t testing.TB, dir string) string {
	t.Helper()
	var b strings.Builder
	if fi, err := os.Stat(filepath.Join(dir, ".git", "index")); err == nil {
		c, _ := os.ReadFile(filepath.Join(dir, ".git", "index"))
		fmt.Fprintf(&b, "index %x %d\n", sha1.Sum(c), fi.ModTime().UnixNano())
	}
	head, _ := os.ReadFile(filepath.Join(dir, ".git", "HEAD"))
	fmt.Fprintf(&b, "HEAD %s", head)
	cmd := exec.Command("git", "for-each-ref", "--format=%(refname) %(objectname)")
	cmd.Dir = dir
	out, err := cmd.Output()
	require.NoError(t, err)
	for _, l := range strings.Split(string(out), "\n") {
		if !strings.HasPrefix(l, "refs/factory/") {
			b.WriteString(l + "\n")
		}
	}
	return b.String()
}

func gitOut(t testing.TB, dir string, stdin string, args ...string) (string, error) {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	out, err := cmd.Output()
	return string(out), err
}

// restoreMismatches lists the differences between the target tree and the
// tree captured after restoring it that restore cannot and must not remove:
// gitlinks (submodules and embedded repositories are never written), and
// files that restore did write but that the user's index and ignore rules
// now leave out of a capture (a file untracked since, under an ignore
// rule), and files that were ignored before the restore (absent from the
// pre-restore tree pre) and that the restored ignore rules no longer
// ignore: restore never deletes an ignored file, since no snapshot holds
// it. Anything else is returned as a real mismatch.
func restoreMismatches(t testing.TB, dir, target, pre, got string) []string {
	out, err := gitOut(t, dir, "", "diff-tree", "-r", "--no-renames", "-z", target, got)
	require.NoError(t, err)
	var bad []string
	fields := strings.Split(out, "\x00")
	for i := 0; i+1 < len(fields); i += 2 {
		meta, path := fields[i], fields[i+1]
		f := strings.Fields(strings.TrimPrefix(meta, ":"))
		if len(f) < 5 {
			continue
		}
		oldMode, newMode, oldSha, status := f[0], f[1], f[2], f[4]
		if oldMode == "160000" || newMode == "160000" {
			continue
		}
		if status == "D" {
			if _, err := gitOut(t, dir, "", "check-ignore", "-q", "--no-index", "--", path); err == nil {
				if h, err := gitOut(t, dir, "", "hash-object", "--", path); err == nil && strings.TrimSpace(h) == oldSha {
					continue // written, but ignored and untracked now
				}
				if oldMode == "120000" {
					continue // a symlink: hash-object follows it
				}
			}
		}
		if status == "A" {
			if _, err := gitOut(t, dir, "", "cat-file", "-e", pre+":"+path); err != nil {
				continue // ignored before the restore, kept, visible now
			}
		}
		bad = append(bad, meta+" "+path)
	}
	return bad
}

// TestRestoreDifferential drives the shared random workspace generator:
// after each random edit (files, ignore rules, symlinks, gitlinks, commits,
// staging, detached HEAD) it snapshots, diffs against the previous snapshot
// and restores a random earlier snapshot. The restored tree must be the
// snapshot's tree, restoring the undo must bring back the state before, and
// .git/index (bytes and mtime), HEAD and every branch must stay untouched
// by diff and restore.
func TestRestoreDifferential(t *testing.T) {
	isolateGit(t)
	ctx := context.Background()
	restored, refused := 0, 0
	defer func() { t.Logf("%d restores, %d refused because of ignored files in the way", restored, refused) }()
	for _, seed := range snapshotSeeds(t, 4) {
		g := NewRandomWorkspace(t, seed)
		w := openWorkspace(t, g.Dir)
		var ids, trees []string
		for step := 0; step < 15; step++ {
			what := g.Edit()
			s, err := w.Snapshot(ctx, "")
			require.NoError(t, err, "seed %d step %d (%s)", seed, step, what)
			ids, trees = append(ids, s.ID), append(trees, s.Tree)
			msg := fmt.Sprintf("seed %d step %d (FACTORY_SNAPSHOT_SEED=%d)\nedits: %s", seed, step, seed, strings.Join(g.Log, "; "))

			before := gitStateOf(t, g.Dir)
			if len(ids) > 1 {
				d, err := w.Diff(ctx, ids[len(ids)-2], s.ID, 0)
				require.NoError(t, err, msg)
				live, err := w.Diff(ctx, ids[len(ids)-2], "", 0)
				require.NoError(t, err, msg)
				assert.Equal(t, d.Files, live.Files, msg)
			}
			require.Equal(t, before, gitStateOf(t, g.Dir), "diff changed the user's git state: "+msg)

			k := g.R.Intn(len(ids))
			files := UserStateOf(t, g.Dir)
			res, err := w.Restore(ctx, ids[k], nil)
			if factory.ErrorCode(err) == factory.ECONFLICT {
				// An ignored file stands where the target needs to write:
				// refused, and nothing may have changed.
				require.Contains(t, err.Error(), "in the way", msg)
				require.Equal(t, files, UserStateOf(t, g.Dir), "a refused restore changed something: "+msg)
				refused++
				continue
			}
			require.NoError(t, err, msg)
			restored++
			after, err := w.Snapshot(ctx, "")
			require.NoError(t, err, msg)
			if bad := restoreMismatches(t, g.Dir, trees[k], s.Tree, after.Tree); len(bad) > 0 {
				t.Fatalf("restore of %s left another tree: %v\n%s", ids[k], bad, msg)
			}
			require.Equal(t, before, gitStateOf(t, g.Dir), "restore changed the user's git state: "+msg)

			// Undo: back to the state before the restore.
			files = UserStateOf(t, g.Dir)
			_, err = w.Restore(ctx, res.Undo, nil)
			if factory.ErrorCode(err) == factory.ECONFLICT {
				// The restore wrote a file the rules now ignore, where the
				// undo needs to write: refused, nothing changed.
				require.Contains(t, err.Error(), "in the way", msg)
				require.Equal(t, files, UserStateOf(t, g.Dir), "a refused undo changed something: "+msg)
				refused++
				continue
			}
			require.NoError(t, err, msg)
			back, err := w.Snapshot(ctx, "")
			require.NoError(t, err, msg)
			if bad := restoreMismatches(t, g.Dir, s.Tree, after.Tree, back.Tree); len(bad) > 0 {
				t.Fatalf("undo of the restore left another tree: %v\n%s", bad, msg)
			}
		}
	}
}
