package patch

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/factory-dev/factory"
	"github.com/stretchr/testify/require"
)

// fuzzSeeds adds the golden patches and a few hand-made ones.
func fuzzSeeds(f *testing.F, add func(string)) {
	paths, _ := filepath.Glob("testdata/golden/*.patch")
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err == nil && len(b) < 64<<10 {
			add(string(b))
		}
	}
	add(editF)
	add(newLink("l", "../x"))
	add("--- a/f.txt\n+++ b/f.txt\n@@ -1,9 +1,1 @@\n line 1\n-line 2\n+x\n\n")
}

// FuzzParse: parsing never panics, and every path of an accepted patch is
// safe.
func FuzzParse(f *testing.F) {
	fuzzSeeds(f, func(s string) { f.Add(s) })
	f.Fuzz(func(t *testing.T, text string) {
		paths, err := Paths(text)
		if err != nil {
			require.Equal(t, factory.EINVALID, factory.ErrorCode(err), "%v", err)
			return
		}
		for _, p := range paths {
			require.NoError(t, checkPath(p), "accepted unsafe path %q", p)
		}
	})
}

// fuzzTree makes a small tree under dir: f.txt holding content, sub/x.txt,
// an empty .git and a symlink "out" to a sibling directory "outside".
func fuzzTree(t *testing.T, base, content string) (dir, outside string) {
	dir, outside = filepath.Join(base, "ws"), filepath.Join(base, "outside")
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "sub"), 0o755))
	require.NoError(t, os.MkdirAll(filepath.Join(dir, ".git"), 0o755))
	require.NoError(t, os.MkdirAll(outside, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "f.txt"), []byte(content), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "sub", "x.txt"), []byte("x\n"), 0o644))
	if _, err := os.Lstat(filepath.Join(dir, "out")); err != nil {
		require.NoError(t, os.Symlink(outside, filepath.Join(dir, "out")))
	}
	return dir, outside
}

var (
	fuzzOnce sync.Once
	fuzzBase string
)

// FuzzApply: applying never panics; a refused patch (or a dry run) leaves
// the tree as it was; nothing is ever written outside the root or into
// .git. Each input is first dry-run on a tree shared by the process (cheap:
// most inputs are refused); accepted ones are then applied for real on a
// fresh tree.
func FuzzApply(f *testing.F) {
	fuzzSeeds(f, func(s string) { f.Add("line 1\nline 2\nline 3\n", s) })
	f.Add("a\r\nb\r\n", "--- a/f.txt\n+++ b/f.txt\n@@ -1,2 +1,2 @@\n a\n-b\n+c\n")
	f.Fuzz(func(t *testing.T, content, text string) {
		fuzzOnce.Do(func() {
			var err error
			fuzzBase, err = os.MkdirTemp("", "factory-fuzz-apply-")
			require.NoError(t, err)
		})
		dir, outside := fuzzTree(t, fuzzBase, content)
		before, outBefore := fingerprint(t, dir), fingerprint(t, outside)
		root, err := os.OpenRoot(dir)
		require.NoError(t, err)
		rep, err := Apply(context.Background(), root, text, Options{Fuzz: 1, DryRun: true})
		root.Close()
		require.Equal(t, before, fingerprint(t, dir), "a dry run changed the tree")
		require.Equal(t, outBefore, fingerprint(t, outside), "wrote outside the root")
		if err != nil {
			require.False(t, rep.Applied)
			require.Contains(t, []string{factory.EINVALID, factory.ECONFLICT}, factory.ErrorCode(err), "%v", err)
			return
		}

		dir, outside = fuzzTree(t, t.TempDir(), content)
		outBefore = fingerprint(t, outside)
		root, err = os.OpenRoot(dir)
		require.NoError(t, err)
		defer root.Close()
		rep, err = Apply(context.Background(), root, text, Options{Fuzz: 1})
		require.NoError(t, err, "the dry run accepted it")
		require.True(t, rep.Applied)
		require.Equal(t, outBefore, fingerprint(t, outside), "wrote outside the root")
		entries, _ := os.ReadDir(filepath.Join(dir, ".git"))
		require.Empty(t, entries, "wrote into .git")
		_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err == nil && strings.HasPrefix(d.Name(), ".factory-patch-") {
				t.Errorf("temporary file left behind: %s", p)
			}
			return nil
		})
	})
}
