package invariants

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestReversePatch applies each patch with git apply, then its reverse,
// and requires the tree to be as it was: the reverse names the same files
// and undoes every hunk.
func TestReversePatch(t *testing.T) {
	files := map[string]string{"a.txt": "one\ntwo\nthree\n", "old.txt": "gone\n", "keep/x.go": "package x\n"}
	for name, patch := range map[string]string{
		"traditional with a/ b/": "--- a/a.txt\n+++ b/a.txt\n@@ -1,3 +1,3 @@\n one\n-two\n+2\n three\n",
		"traditional bare":       "--- a.txt\n+++ a.txt\n@@ -2,2 +2,3 @@\n two\n+two and a half\n three\n",
		"git, several files": "diff --git a/new.txt b/new.txt\nnew file mode 100644\n--- /dev/null\n+++ b/new.txt\n@@ -0,0 +1,2 @@\n+a\n+b\n" +
			"diff --git a/old.txt b/old.txt\ndeleted file mode 100644\n--- a/old.txt\n+++ /dev/null\n@@ -1 +0,0 @@\n-gone\n" +
			"diff --git a/keep/x.go b/keep/y.go\nsimilarity index 50%\nrename from keep/x.go\nrename to keep/y.go\n--- a/keep/x.go\n+++ b/keep/y.go\n@@ -1 +1,2 @@\n package x\n+// y\n",
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			gitIn(t, dir, nil, "init", "-q")
			writeFiles(t, dir, files)
			before := treeContents(t, dir)
			_, err := gitTry(dir, nil, []byte(patch), "apply", "-")
			require.NoError(t, err)
			require.NotEqual(t, before, treeContents(t, dir))
			rev, ok := ReversePatch(patch)
			require.True(t, ok)
			out, err := gitTry(dir, nil, []byte(rev), "apply", "-")
			require.NoError(t, err, "%s\n%s", rev, out)
			assert.Equal(t, before, treeContents(t, dir))
		})
	}
	for _, bad := range []string{"not a patch", "diff --git a/b.bin b/b.bin\nBinary files a/b.bin and b/b.bin differ\n"} {
		_, ok := ReversePatch(bad)
		assert.False(t, ok, bad)
	}
}

func treeContents(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for p, h := range treeState(t, dir) {
		if !strings.HasPrefix(p, ".git") {
			out[p] = strings.Join(strings.Fields(h)[:2], " ") // content and mode, not mtime
		}
	}
	return out
}
