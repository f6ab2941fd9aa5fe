package gitstore

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/factory-dev/factory/internal/attacktest"
	"github.com/factory-dev/factory/sandbox/gitstore/packs"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/stretchr/testify/require"
)

// Snapshot packs do not pile up: past mergeAbove small packs, they are
// merged into one that git and factory read, while a pack git was told to
// keep is left alone, and a reader that loaded the old indexes finds the
// objects again.
func TestSmallPacksMerge(t *testing.T) {
	dir, s := packRepo(t)
	packDir := filepath.Join(dir, ".git", "objects", "pack")
	// A pack git keeps: never merged.
	writeFiles(t, dir, "kept", 6)
	kept, err := s.Capture(context.Background(), dir)
	require.NoError(t, err)
	keptPacks, _ := packsIn(t, dir)
	require.Len(t, keptPacks, 1)
	keep := keptPacks[0][:len(keptPacks[0])-len(".pack")] + ".keep"
	require.NoError(t, os.WriteFile(keep, nil, 0o644))

	var trees []plumbing.Hash
	var stale *Store // a reader that loads the indexes before the merge
	for i := 0; i <= mergeAbove; i++ {
		// blob, three new trees and the root: five objects, one pack.
		p := filepath.Join(dir, fmt.Sprintf("m%02d", i), "a", "b", "f.txt")
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(fmt.Sprintf("merge %d\n", i)), 0o644))
		tree, err := s.Capture(context.Background(), dir)
		require.NoError(t, err)
		trees = append(trees, tree)
		if i == mergeAbove-1 {
			packs, _ := packsIn(t, dir)
			require.Len(t, packs, mergeAbove+1, "one pack per capture, the kept one besides")
			stale, err = Open(Config{Root: dir, GitDir: filepath.Join(dir, ".git")})
			require.NoError(t, err)
			_, err = stale.ReadTree(trees[0])
			require.NoError(t, err)
		}
	}
	packs, idxs := packsIn(t, dir)
	require.Len(t, packs, 2, "the small packs were merged; the kept one stays")
	require.Len(t, idxs, 2)
	require.Contains(t, packs, keptPacks[0])
	require.FileExists(t, keep)
	ents, err := os.ReadDir(packDir)
	require.NoError(t, err)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	require.Len(t, names, 5, "pack, idx, keep of the kept pack; pack, idx of the merged one: %v", names)

	gitIn(t, dir, "fsck", "--strict", "--no-dangling")
	for _, st := range []*Store{stale, s} {
		for i, tr := range append(trees, kept) {
			require.Contains(t, gitIn(t, dir, "cat-file", "-p", tr.String()), "base", "tree %d", i)
			es, err := st.ReadTree(tr)
			require.NoError(t, err)
			require.NotEmpty(t, es)
		}
		e, err := st.Lookup(trees[0], "m00/a/b/f.txt")
		require.NoError(t, err)
		require.NotNil(t, e)
		b, err := st.ReadBlob(e.Hash)
		require.NoError(t, err)
		require.Equal(t, "merge 0\n", string(b))
	}
	require.Equal(t, gitTree(t, dir), trees[len(trees)-1].String())
}

// mergeAbove is the package's threshold, named where no local variable
// called packs hides the package.
const mergeAbove = packs.MergeAbove

// blobObjects makes n blob objects whose contents start with tag.
func blobObjects(tag string, n int) []packs.Object {
	var objs []packs.Object
	for i := 0; i < n; i++ {
		b := []byte(fmt.Sprintf("%s %d\n", tag, i))
		objs = append(objs, packs.Object{Hash: hashObject(plumbing.BlobObject, b), Type: plumbing.BlobObject, Size: int64(len(b)), Body: b})
	}
	return objs
}

// attack: plant, among the small packs, one whose index names an object by an id its content does not hash to, hoping the merge copies it under that name and deletes the honest copies -> the merge refuses, every pack stays as it was
func TestAttackMergeRefusesMismatchedObject(t *testing.T) {
	dir, s := packRepo(t)
	for i := 0; i < mergeAbove; i++ {
		_, err := s.objects.writePack(blobObjects(fmt.Sprintf("honest %d", i), 5))
		require.NoError(t, err)
	}
	bad := blobObjects("forged", 5)
	bad[2].Hash = blobObjects("honest 0", 1)[0].Hash // an id another pack holds honestly
	_, err := s.objects.writePack(bad)
	require.NoError(t, err)
	watched := []string{filepath.Join(dir, ".git", "objects"), filepath.Join(dir, ".git", "refs")}
	before := attacktest.Take(t, watched...)

	merged, err := s.objects.mergeSmallPacks()
	require.ErrorContains(t, err, "hashes to")
	require.False(t, merged)
	attacktest.Unchanged(t, before, watched...)
	require.Equal(t, "blob\n", gitIn(t, dir, "cat-file", "-t", bad[2].Hash.String())+"\n")
}
