package gitstore

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/factory-dev/factory/internal/attacktest"
	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/stretchr/testify/require"
)

// packRepo makes a committed repository of a few files and opens a Store
// on it.
func packRepo(t *testing.T) (string, *Store) {
	t.Helper()
	dir := t.TempDir()
	if r, err := filepath.EvalSymlinks(dir); err == nil {
		dir = r
	}
	gitIn(t, dir, "init", "-q", ".")
	gitIn(t, dir, "config", "gc.auto", "0")
	writeFiles(t, dir, "base", 3)
	gitIn(t, dir, "add", "-A")
	gitIn(t, dir, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "base")
	s, err := Open(Config{Root: dir, GitDir: filepath.Join(dir, ".git")})
	require.NoError(t, err)
	return dir, s
}

func gitIn(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "git %v: %s", args, out)
	return strings.TrimSpace(string(out))
}

// writeFiles writes n files, each in a folder of its own, below dir/top.
func writeFiles(t *testing.T, dir, top string, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		p := filepath.Join(dir, top, fmt.Sprintf("d%d", i), "f.txt")
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(fmt.Sprintf("content %s %d\n", top, i)), 0o644))
	}
}

// packsIn lists the .pack and .idx files of the repository at dir.
func packsIn(t *testing.T, dir string) (packs, idxs []string) {
	t.Helper()
	packs, err := filepath.Glob(filepath.Join(dir, ".git", "objects", "pack", "pack-*.pack"))
	require.NoError(t, err)
	idxs, err = filepath.Glob(filepath.Join(dir, ".git", "objects", "pack", "pack-*.idx"))
	require.NoError(t, err)
	return packs, idxs
}

// gitTree is the tree `git add -A` into a temporary index writes for dir.
// It writes objects of its own, so call it after checking factory's.
func gitTree(t *testing.T, dir string) string {
	t.Helper()
	idx := filepath.Join(t.TempDir(), "index")
	data, err := os.ReadFile(filepath.Join(dir, ".git", "index"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(idx, data, 0o644))
	run := func(args ...string) string {
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_INDEX_FILE="+idx)
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "git %v: %s", args, out)
		return strings.TrimSpace(string(out))
	}
	run("add", "-A")
	return run("write-tree")
}

// commitSnapshot writes a commit of tree on HEAD, as a snapshot does, and
// names it refs/test/<name> unless name is empty.
func commitSnapshot(t *testing.T, s *Store, dir string, tree plumbing.Hash, name string) plumbing.Hash {
	t.Helper()
	head := gitIn(t, dir, "rev-parse", "HEAD")
	body := fmt.Sprintf("tree %s\nparent %s\nauthor t <t@t> 1 +0000\ncommitter t <t@t> 1 +0000\n\n%s\n", tree, head, name)
	c, err := s.WriteObject(plumbing.CommitObject, []byte(body))
	require.NoError(t, err)
	if name != "" {
		gitIn(t, dir, "update-ref", "refs/test/"+name, c.String())
	}
	require.Contains(t, gitIn(t, dir, "log", "--format=%H", c.String()), c.String())
	return c
}

// The new objects of a capture land in one pack that git reads, verifies
// and walks, and that factory's own reads find at once.
func TestCapturePacksNewObjects(t *testing.T) {
	dir, s := packRepo(t)
	writeFiles(t, dir, "new", 10)
	tree, err := s.Capture(context.Background(), dir)
	require.NoError(t, err)
	packs, idxs := packsIn(t, dir)
	require.Len(t, packs, 1)
	require.Len(t, idxs, 1)
	require.NoFileExists(t, s.objects.loosePath(tree), "the new tree is in the pack, not loose")

	out := gitIn(t, dir, "verify-pack", "-v", idxs[0])
	require.Contains(t, out, tree.String())
	require.Contains(t, gitIn(t, dir, "cat-file", "-p", tree.String()), "new")
	es, err := s.ReadTree(tree) // go-git, through the new pack
	require.NoError(t, err)
	require.Len(t, es, 2)
	sub, err := s.Lookup(tree, "new/d7/f.txt")
	require.NoError(t, err)
	b, err := s.ReadBlob(sub.Hash)
	require.NoError(t, err)
	require.Equal(t, "content new 7\n", string(b))

	c := commitSnapshot(t, s, dir, tree, "s1")
	require.Contains(t, gitIn(t, dir, "log", "--format=%H", "refs/test/s1"), c.String())
	gitIn(t, dir, "fsck", "--strict", "--no-dangling")
	require.Equal(t, gitTree(t, dir), tree.String())

	// A second capture after one edit writes few objects: loose, no
	// second pack.
	require.NoError(t, os.WriteFile(filepath.Join(dir, "new", "d1", "f.txt"), []byte("edited\n"), 0o644))
	tree2, err := s.Capture(context.Background(), dir)
	require.NoError(t, err)
	packs, _ = packsIn(t, dir)
	require.Len(t, packs, 1)
	require.FileExists(t, s.objects.loosePath(tree2))
	require.Equal(t, gitTree(t, dir), tree2.String())
	gitIn(t, dir, "fsck", "--strict", "--no-dangling")
}

// attack: a crash (power loss, kill -9) between the rename of a capture's pack and of its index -> git ignores the index-less pack (fsck clean), the next capture indexes it and is correct, and the tree, refs and index are untouched
func TestAttackCrashBetweenPackAndIdx(t *testing.T) {
	dir, s := packRepo(t)
	writeFiles(t, dir, "new", 10)
	watched := []string{filepath.Join(dir, "base"), filepath.Join(dir, "new"),
		filepath.Join(dir, ".git", "refs"), filepath.Join(dir, ".git", "HEAD"), filepath.Join(dir, ".git", "index")}
	before := attacktest.Take(t, watched...)

	s.objects.beforeIdxRename = func() error { return errors.New("simulated crash") }
	_, err := s.Capture(context.Background(), dir)
	require.ErrorContains(t, err, "simulated crash")
	orphan, idxs := packsIn(t, dir)
	require.Len(t, orphan, 1, "the pack was renamed in")
	require.Empty(t, idxs, "its index was not")
	gitIn(t, dir, "fsck", "--strict", "--no-dangling")
	attacktest.Unchanged(t, before, watched...)

	// The tree changes before the next capture, so it does not write the
	// same pack again (whose rename would heal the crash by itself). A fresh server (the crashed one is
	// gone) and the same one both capture correctly.
	require.NoError(t, os.WriteFile(filepath.Join(dir, "new", "d3", "f.txt"), []byte("after the crash\n"), 0o644))
	before = attacktest.Take(t, watched...)
	s.objects.beforeIdxRename = nil
	s2, err := Open(Config{Root: dir, GitDir: filepath.Join(dir, ".git")})
	require.NoError(t, err)
	for _, st := range []*Store{s2, s} {
		tree, err := st.Capture(context.Background(), dir)
		require.NoError(t, err)
		es, err := st.ReadTree(tree)
		require.NoError(t, err)
		require.Len(t, es, 2)
		commitSnapshot(t, st, dir, tree, "")
		gitIn(t, dir, "fsck", "--strict", "--no-dangling")
		require.Equal(t, gitTree(t, dir), tree.String())
	}
	packs, idxs := packsIn(t, dir)
	require.Equal(t, orphan, packs, "the edit made few objects: written loose")
	require.Equal(t, []string{strings.TrimSuffix(orphan[0], ".pack") + ".idx"}, idxs, "the orphan pack was indexed")
	// What remains of the crash is its temporary index file, which git
	// prune removes once old, as it does git's own.
	require.NotContains(t, gitIn(t, dir, "count-objects", "-v"), "no corresponding .idx")

	attacktest.Unchanged(t, before, watched...)
}

// go-git's pack indexes are not reloaded after each pack of ours (see
// afterPack), yet each read finds the new objects at once: HasObject,
// ReadObject, ReadBlob and go-git itself through WithRepo, each first
// after a pack written once go-git had loaded its indexes.
func TestNewPackFoundWithoutEagerReindex(t *testing.T) {
	dir, s := packRepo(t)
	head := gitIn(t, dir, "rev-parse", "HEAD^{tree}")
	_, err := s.ReadTree(plumbing.NewHash(head)) // go-git loads its indexes now
	require.NoError(t, err)
	reads := map[string]func(tree, blob plumbing.Hash) error{
		"HasObject": func(_, blob plumbing.Hash) error {
			if !s.HasObject(blob) {
				return errors.New("not found")
			}
			return nil
		},
		"ReadObject": func(tree, _ plumbing.Hash) error { // not the decoded-tree cache
			_, err := s.ReadObject(plumbing.TreeObject, tree)
			return err
		},
		"ReadBlob": func(_, blob plumbing.Hash) error {
			_, err := s.ReadBlob(blob)
			return err
		},
		"WithRepo": func(_, blob plumbing.Hash) error {
			return s.WithRepo(func(r *git.Repository) error {
				_, err := r.BlobObject(blob)
				return err
			})
		},
	}
	for name, read := range reads {
		before, _ := packsIn(t, dir)
		writeFiles(t, dir, name, 10)
		tree, err := s.Capture(context.Background(), dir)
		require.NoError(t, err)
		after, _ := packsIn(t, dir)
		require.Len(t, after, len(before)+1, "the capture wrote a pack")
		sub, err := s.Lookup(tree, name+"/d4/f.txt")
		require.NoError(t, err)
		require.NoError(t, read(tree, sub.Hash), name)
		require.Equal(t, gitTree(t, dir), tree.String())
	}
}
