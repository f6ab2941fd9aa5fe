package sandbox

import (
	"context"
	"crypto/sha1"
	"fmt"
	"io/fs"
	"math/rand"
	"os"
	"path/filepath"
	"testing"

	"github.com/factory-dev/factory/sandbox/copies"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fcContent describes every entry under dir: type, git-relevant mode and
// content or link target, directories included (so a directory left behind
// shows). Unlike rsFingerprint it ignores inodes and times.
func fcContent(t testing.TB, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if rel == "." {
			return nil
		}
		st, err := os.Lstat(p)
		if err != nil {
			return err
		}
		switch {
		case st.Mode()&fs.ModeSymlink != 0:
			l, _ := os.Readlink(p)
			out[rel] = "link " + l
		case st.Mode().IsRegular():
			b, _ := os.ReadFile(p)
			out[rel] = fmt.Sprintf("file x=%v %x", st.Mode()&0o100 != 0, sha1.Sum(b))
		case st.IsDir():
			out[rel] = "dir"
		default:
			out[rel] = "other"
		}
		return nil
	})
	require.NoError(t, err)
	return out
}

// fcPaths are the paths the random edits pick from: files and directories
// of the base tree, ignored places, and names that change kind.
var fcPaths = []string{
	"a.txt", "src/main.go", "src/deep/er/x.txt", "src/deep", "run.sh", "link",
	"d/c.txt", "d/e/f.txt", "d/e", "d/keep.log", "d/other.log", "x.log",
	"build/new.txt", "build/tracked.txt", "build", "n/m/o.txt", "n", "t.tmp",
	"ünï cödé.txt", "dup1",
}

var fcPatterns = []string{"*.tmp", "n/", "!x.log", "o.txt", "d/e/", "!build/new.txt", "src/deep/"}

// fcWrite is rsWrite that first removes any file in the way of the
// parent directories.
func fcWrite(t testing.TB, dir, rel, content string, mode os.FileMode) {
	t.Helper()
	for d := filepath.Dir(filepath.FromSlash(rel)); d != "."; d = filepath.Dir(d) {
		if fi, err := os.Lstat(filepath.Join(dir, d)); err == nil && !fi.IsDir() {
			require.NoError(t, os.Remove(filepath.Join(dir, d)))
		}
	}
	if fi, err := os.Lstat(filepath.Join(dir, filepath.FromSlash(rel))); err == nil && fi.IsDir() {
		require.NoError(t, os.RemoveAll(filepath.Join(dir, filepath.FromSlash(rel))))
	}
	rsWrite(t, dir, rel, content, mode)
}

// fcRandomEdit makes one random change under dir: write, delete, chmod,
// symlink, file to directory and back, new directories, ignore rules.
func fcRandomEdit(t testing.TB, r *rand.Rand, dir string) {
	t.Helper()
	name := fcPaths[r.Intn(len(fcPaths))]
	p := filepath.Join(dir, filepath.FromSlash(name))
	fi, statErr := os.Lstat(p)
	switch r.Intn(10) {
	case 0, 1:
		if statErr == nil && fi.IsDir() {
			fcWrite(t, dir, name+"/w"+rsRandWord(r)+".txt", rsRandText(r), 0o644)
		} else {
			fcWrite(t, dir, name, rsRandText(r), 0o644)
		}
	case 2:
		if statErr == nil {
			require.NoError(t, os.RemoveAll(p))
		}
	case 3:
		if statErr == nil && fi.Mode().IsRegular() {
			require.NoError(t, os.Chmod(p, fi.Mode().Perm()^0o111))
		}
	case 4:
		fcWrite(t, dir, name, "", 0o644)
		rsSymlink(t, dir, name, "target-"+rsRandWord(r))
	case 5: // a file becomes a directory
		if statErr == nil && !fi.IsDir() {
			require.NoError(t, os.Remove(p))
			fcWrite(t, dir, name+"/inner.txt", rsRandText(r), 0o644)
		}
	case 6: // a directory becomes a file
		if statErr == nil && fi.IsDir() {
			require.NoError(t, os.RemoveAll(p))
			fcWrite(t, dir, name, rsRandText(r), 0o755)
		}
	case 7: // ignore rules change, at the top or below
		gi := ".gitignore"
		if r.Intn(2) == 0 {
			gi = "d/.gitignore"
		}
		old, _ := os.ReadFile(filepath.Join(dir, gi))
		fcWrite(t, dir, gi, string(old)+fcPatterns[r.Intn(len(fcPatterns))]+"\n", 0o644)
	case 8: // a new directory tree
		base := "new" + rsRandWord(r)
		for i := 0; i < 1+r.Intn(3); i++ {
			fcWrite(t, dir, fmt.Sprintf("%s/s%d/f%d.txt", base, i%2, i), rsRandText(r), 0o644)
		}
	case 9: // remove and recreate a directory (an opaque directory in an overlay)
		if statErr == nil && fi.IsDir() {
			require.NoError(t, os.RemoveAll(p))
			fcWrite(t, dir, name+"/again.txt", rsRandText(r), 0o644)
		}
	}
}

// fcRepo is rsIsolateRepo with a nested .gitignore holding a negation.
func fcRepo(t *testing.T) (*Workspace, string) {
	w, dir := rsIsolateRepo(t)
	rsWrite(t, dir, "a.txt", "a\n", 0o644)
	rsWrite(t, dir, "d/.gitignore", "!keep.log\n", 0o644)
	rsWrite(t, dir, "d/keep.log", "kept by a negation\n", 0o644)
	rsWrite(t, dir, "d/other.log", "ignored\n", 0o644)
	rsWrite(t, dir, "d/c.txt", "c\n", 0o644)
	rsWrite(t, dir, "d/e/f.txt", "f\n", 0o644)
	rsGit(t, dir, "add", "a.txt", "d/c.txt")
	return w, dir
}

// fcFast runs the fast capture of a copy directly; ok says whether it
// applied.
func fcFast(t *testing.T, w *Workspace, c *Copy) (plumbing.Hash, bool) {
	t.Helper()
	if c.d.Overlay == nil {
		return plumbing.ZeroHash, false
	}
	return w.store.CaptureOverlay(context.Background(), c.d.Overlay)
}

// fcFull is the full capture of dir by the engine's walk.
func fcFull(t *testing.T, w *Workspace, dir string) plumbing.Hash {
	t.Helper()
	h, err := w.store.Capture(context.Background(), dir)
	require.NoError(t, err)
	return h
}

// TestFastCopyCaptureMatchesFullCapture is the differential test of the
// fast capture: for random edits of the live tree (so copies are made
// incrementally over a cached tree) and random edits inside each copy, the
// fast capture's tree equals the full walk's, and the copy as isolated holds
// exactly what Materialize writes for its snapshot.
func TestFastCopyCaptureMatchesFullCapture(t *testing.T) {
	if !copies.OverlaySupported() {
		t.Skip("overlay copies need root")
	}
	w, dir := fcRepo(t)
	ctx := context.Background()
	id, _ := rsSnap(t, w, dir)
	c0, err := w.Isolate(ctx, id) // materialises the first tree into the cache
	require.NoError(t, err)
	t.Cleanup(func() { c0.Close() })
	require.Equal(t, CopyOverlay, c0.Kind())
	require.NoError(t, c0.Close())
	cache := filepath.Join(w.gitDir, "factory", "trees")

	r := rand.New(rand.NewSource(7))
	fastTaken := 0
	for round := 0; round < 24; round++ {
		for i := 0; i < 1+r.Intn(4); i++ {
			fcRandomEdit(t, r, dir)
		}
		switch round {
		case 5: // the index stops tracking a file inside an ignored folder
			if _, err := os.Stat(filepath.Join(dir, "build", "tracked.txt")); err == nil {
				rsGit(t, dir, "rm", "-q", "--cached", "--ignore-unmatch", "build/tracked.txt")
			}
		case 9:
			rsGit(t, dir, "add", "-A")
		}
		s, err := w.Snapshot(ctx, "")
		require.NoError(t, err)
		c, err := w.Isolate(ctx, s.ID)
		require.NoError(t, err)
		t.Cleanup(func() { c.Close() }) // unmounted even when a check fails
		require.Equal(t, CopyOverlay, c.Kind())

		// The copy holds the snapshot's tree, nothing more.
		want := filepath.Join(t.TempDir(), "m")
		require.NoError(t, w.Materialize(ctx, s.ID, want))
		require.Equal(t, fcContent(t, want), fcContent(t, c.Dir()), "round %d: the copy differs from the snapshot's tree", round)

		// Untouched, both captures agree (with each other; the full one
		// with the snapshot when the index did not change under it).
		full := fcFull(t, w, c.Dir())
		fast, ok := fcFast(t, w, c)
		if ok {
			fastTaken++
			require.Equal(t, full, fast, "round %d: untouched copy", round)
		}

		// Then edit inside the copy.
		for i := 0; i < 1+r.Intn(8); i++ {
			fcRandomEdit(t, r, c.Dir())
		}
		switch round % 4 {
		case 0: // new ignored files, at the top, below, in an ignored folder
			fcWrite(t, c.Dir(), "x.log", rsRandText(r), 0o644)
			fcWrite(t, c.Dir(), "newig/q.log", "q\n", 0o644)
			fcWrite(t, c.Dir(), "build/zz.txt", "zz\n", 0o644)
		case 1: // rules that now ignore untracked files the copy already had
			old, _ := os.ReadFile(filepath.Join(c.Dir(), ".gitignore"))
			fcWrite(t, c.Dir(), ".gitignore", string(old)+[]string{"d/e/", "src/deep/", "*.txt", "run.sh"}[r.Intn(4)]+"\n", 0o644)
		case 2: // an untracked file below a folder that becomes ignored by a nested rule
			fcWrite(t, c.Dir(), "d/.gitignore", "c.txt\nf.txt\n", 0o644)
		}
		if round == 3 { // an untracked nested repository becomes a gitlink
			nested := filepath.Join(c.Dir(), "vendor", "lib")
			rsWrite(t, nested, "lib.go", "package lib\n", 0o644)
			rsGit(t, nested, "init", "-q", "-b", "main")
			rsGit(t, nested, "add", "-A")
			rsGit(t, nested, "commit", "-q", "-m", "lib")
		}
		full = fcFull(t, w, c.Dir())
		fast, ok = fcFast(t, w, c)
		if ok {
			fastTaken++
			require.Equal(t, full, fast, "round %d: edited copy", round)
		}
		// SnapshotDir (the fast path when it applies) gives the full tree.
		sd, err := c.Snapshot(ctx, "")
		require.NoError(t, err)
		require.Equal(t, full.String(), sd.Tree, "round %d: SnapshotDir", round)
		require.NoError(t, c.Close())

		ents, err := os.ReadDir(cache)
		require.NoError(t, err)
		require.Len(t, ents, 1, "round %d: copies of close trees must not materialise a tree of their own", round)
	}
	// The fast path must have been the one compared, nearly always.
	assert.GreaterOrEqual(t, fastTaken, 44)
}

// TestIncrementalIsolateFallsBackForLargeDiffs: when most files differ
// from every cached tree, the new tree is materialised and cached.
func TestIncrementalIsolateFallsBackForLargeDiffs(t *testing.T) {
	if !copies.OverlaySupported() {
		t.Skip("overlay copies need root")
	}
	w, dir := rsRepo(t)
	ctx := context.Background()
	for i := 0; i < 300; i++ {
		rsWrite(t, dir, fmt.Sprintf("p%d/f%d.txt", i%10, i), fmt.Sprintf("v1 %d\n", i), 0o644)
	}
	id1, _ := rsSnap(t, w, dir)
	c, err := w.Isolate(ctx, id1)
	require.NoError(t, err)
	require.NoError(t, c.Close())
	cache := filepath.Join(w.gitDir, "factory", "trees")

	// 10 files differ: incremental, nothing new cached.
	for i := 0; i < 10; i++ {
		rsWrite(t, dir, fmt.Sprintf("p%d/f%d.txt", i%10, i), "v2\n", 0o644)
	}
	id2, tree2 := rsSnap(t, w, dir)
	c, err = w.Isolate(ctx, id2)
	require.NoError(t, err)
	assert.Equal(t, tree2, rsTreeOfDir(t, dir, c.Dir(), tree2))
	require.NoError(t, c.Close())
	ents, _ := os.ReadDir(cache)
	assert.Len(t, ents, 1)

	// 200 of 301 files differ: the tree is materialised.
	for i := 0; i < 200; i++ {
		rsWrite(t, dir, fmt.Sprintf("p%d/f%d.txt", i%10, i), "v3\n", 0o644)
	}
	id3, tree3 := rsSnap(t, w, dir)
	c, err = w.Isolate(ctx, id3)
	require.NoError(t, err)
	assert.Equal(t, tree3, rsTreeOfDir(t, dir, c.Dir(), tree3))
	require.NoError(t, c.Close())
	ents, _ = os.ReadDir(cache)
	assert.Len(t, ents, 2)
	_, err = os.Stat(filepath.Join(cache, tree3))
	assert.NoError(t, err)
}

// FuzzFastCopyCapture drives the differential check with fuzzed seeds:
// random edits of the live tree (a new snapshot, copied incrementally) and
// inside the copy, then the fast capture must equal the full walk.
func FuzzFastCopyCapture(f *testing.F) {
	if !copies.OverlaySupported() {
		f.Skip("overlay copies need root")
	}
	f.Add(int64(1), uint8(3), uint8(5))
	f.Add(int64(42), uint8(0), uint8(12))
	f.Fuzz(func(t *testing.T, seed int64, liveEdits, copyEdits uint8) {
		w, dir := fcRepo(t)
		ctx := context.Background()
		id, _ := rsSnap(t, w, dir)
		c0, err := w.Isolate(ctx, id)
		require.NoError(t, err)
		require.NoError(t, c0.Close())
		r := rand.New(rand.NewSource(seed))
		for i := 0; i < int(liveEdits%16); i++ {
			fcRandomEdit(t, r, dir)
		}
		s, err := w.Snapshot(ctx, "")
		require.NoError(t, err)
		c, err := w.Isolate(ctx, s.ID)
		require.NoError(t, err)
		defer c.Close()
		want := filepath.Join(t.TempDir(), "m")
		require.NoError(t, w.Materialize(ctx, s.ID, want))
		require.Equal(t, fcContent(t, want), fcContent(t, c.Dir()))
		for i := 0; i < int(copyEdits%32); i++ {
			fcRandomEdit(t, r, c.Dir())
		}
		full := fcFull(t, w, c.Dir())
		fast, ok := fcFast(t, w, c)
		require.True(t, ok, "the fast capture gave up")
		require.Equal(t, full, fast)
	})
}
