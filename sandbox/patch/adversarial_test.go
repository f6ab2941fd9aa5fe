package patch

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/factory-dev/factory"
	"github.com/factory-dev/factory/internal/gittest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// advWorkspace is a real git repository with files, an inside symlink and
// two symlinks that lead outside, next to an outside directory holding a
// secret file.
type advWorkspace struct {
	dir, outside string
}

func newAdvWorkspace(t *testing.T) advWorkspace {
	base := t.TempDir()
	w := advWorkspace{dir: filepath.Join(base, "ws"), outside: filepath.Join(base, "outside")}
	require.NoError(t, os.MkdirAll(filepath.Join(w.dir, "sub"), 0o755))
	require.NoError(t, os.MkdirAll(w.outside, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(w.outside, "secret.txt"), []byte("secret\n"), 0o644))
	gittest.Run(t, w.dir, "init", "-q")
	var lines strings.Builder
	for i := 1; i <= 10; i++ {
		fmt.Fprintf(&lines, "line %d\n", i)
	}
	files := map[string]string{
		"f.txt": lines.String(), "sub/x.txt": "x\n", "a.txt": "a\n", "b.txt": "b\n", "c.txt": "c\n",
	}
	for name, data := range files {
		require.NoError(t, os.WriteFile(filepath.Join(w.dir, name), []byte(data), 0o644))
	}
	require.NoError(t, os.WriteFile(filepath.Join(w.dir, "bin.bin"), binaryData(3, 4096), 0o644))
	require.NoError(t, os.Symlink(w.outside, filepath.Join(w.dir, "out")))
	require.NoError(t, os.Symlink(filepath.Join(w.outside, "secret.txt"), filepath.Join(w.dir, "linkfile")))
	require.NoError(t, os.Symlink("sub", filepath.Join(w.dir, "inlink")))
	gittest.Run(t, w.dir, "add", "-A")
	gittest.Run(t, w.dir, "commit", "-qm", "base")
	return w
}

// binaryData is deterministic bytes that git treats as binary.
func binaryData(seed byte, n int) []byte {
	b := make([]byte, n)
	x := uint32(seed) * 2654435761
	for i := range b {
		x = x*1664525 + 1013904223
		b[i] = byte(x >> 24)
	}
	b[0] = 0
	return b
}

// gitBinaryPatch makes a real `git diff --binary` of bin.bin from `from` to `to`.
func gitBinaryPatch(t *testing.T, from, to []byte) string {
	d := t.TempDir()
	gittest.Run(t, d, "init", "-q")
	require.NoError(t, os.WriteFile(filepath.Join(d, "bin.bin"), from, 0o644))
	gittest.Run(t, d, "add", "-A")
	gittest.Run(t, d, "commit", "-qm", "x")
	require.NoError(t, os.WriteFile(filepath.Join(d, "bin.bin"), to, 0o644))
	return gittest.Run(t, d, "diff", "--binary")
}

func newFile(name, body string) string {
	return fmt.Sprintf("diff --git a/%s b/%s\nnew file mode 100644\n--- /dev/null\n+++ b/%s\n@@ -0,0 +1 @@\n+%s\n", name, name, name, body)
}

func newLink(name, target string) string {
	return fmt.Sprintf("diff --git a/%s b/%s\nnew file mode 120000\n--- /dev/null\n+++ b/%s\n@@ -0,0 +1 @@\n+%s\n\\ No newline at end of file\n", name, name, name, target)
}

const editF = "--- a/f.txt\n+++ b/f.txt\n@@ -1,3 +1,3 @@\n line 1\n-line 2\n+line two\n line 3\n"

// TestAdversarial feeds hostile and broken patches to Apply. Each must be
// refused with the expected code and a message naming the problem, and
// the workspace (every file, mode and mtime, .git included) and the outside
// directory must be byte-identical afterwards.
func TestAdversarial(t *testing.T) {
	changed := binaryData(3, 4096)
	copy(changed[100:], "changed!")
	other := binaryData(9, 4000)
	binMismatch := func(t *testing.T) string { return gitBinaryPatch(t, other, changed) }
	binDeltaNoIndex := func(t *testing.T) string {
		p := gitBinaryPatch(t, other, append(append([]byte{}, other...), "tail"...))
		var keep []string
		for _, l := range strings.SplitAfter(p, "\n") {
			if !strings.HasPrefix(l, "index ") {
				keep = append(keep, l)
			}
		}
		require.Contains(t, p, "delta ", "git should have made a delta")
		return strings.Join(keep, "")
	}
	huge := "--- a/f.txt\n+++ b/f.txt\n@@ -1,1 +1,1 @@\n-line 1\n+" + strings.Repeat("x", 50<<20) + "\n"

	cases := []struct {
		name  string
		patch string
		gen   func(t *testing.T) string
		code  string
		msg   string
	}{
		{"traversal git", "diff --git a/../evil.txt b/../evil.txt\nnew file mode 100644\n--- /dev/null\n+++ b/../evil.txt\n@@ -0,0 +1 @@\n+evil\n", nil, factory.EINVALID, `".." component`},
		{"traversal traditional", "--- a/../../outside/secret.txt\n+++ b/../../outside/secret.txt\n@@ -1 +1 @@\n-secret\n+owned\n", nil, factory.EINVALID, `".." component`},
		{"traversal deep", "--- /dev/null\n+++ b/sub/../../x\n@@ -0,0 +1 @@\n+x\n", nil, factory.EINVALID, `".." component`},
		{"absolute new file", "--- /dev/null\n+++ /tmp/evil\n@@ -0,0 +1 @@\n+evil\n", nil, factory.EINVALID, "is absolute"},
		{"absolute rename target", "diff --git a/f.txt b/f.txt\nsimilarity index 100%\nrename from f.txt\nrename to /tmp/evil\n", nil, factory.EINVALID, "absolute"},
		{"absolute after prefix", "diff --git a//etc/passwd b//etc/passwd\n--- a//etc/passwd\n+++ b//etc/passwd\n@@ -1 +1 @@\n-x\n+y\n", nil, factory.EINVALID, "absolute"},
		{"copy to traversal", "diff --git a/f.txt b/../copy.txt\nsimilarity index 100%\ncopy from f.txt\ncopy to ../copy.txt\n", nil, factory.EINVALID, `".." component`},
		{"name too long", "--- a/" + strings.Repeat("n", 256) + "\n+++ b/" + strings.Repeat("n", 256) + "\n@@ -1 +1 @@\n-x\n+y\n", nil, factory.EINVALID, "a component of 256 bytes"},
		{".git hooks", newFile(".git/hooks/pre-commit", "#!/bin/sh"), nil, factory.EINVALID, "goes into .git"},
		{".GIT upper case", newFile(".GIT/config", "[core]"), nil, factory.EINVALID, "goes into .git"},
		{".Git nested", newFile("sub/.Git/hooks/post-checkout", "x"), nil, factory.EINVALID, "goes into .git"},
		{".git as file", newFile(".git", "gitdir: /tmp/evil"), nil, factory.EINVALID, "goes into .git"},
		{"dot component", newFile("sub/./x2.txt", "x"), nil, factory.EINVALID, `"." component`},
		{"backslash", newFile(`sub\..\..\evil`, "x"), nil, factory.EINVALID, "backslash"},
		{"NUL byte in patch", editF[:len(editF)-2] + "\x00\n", nil, factory.EINVALID, "NUL byte"},
		{"NUL byte in quoted name", "--- /dev/null\n+++ \"b/x\\000y\"\n@@ -0,0 +1 @@\n+x\n", nil, factory.EINVALID, "NUL byte"},
		{"write through symlink dir to outside", newFile("out/evil.txt", "evil"), nil, factory.EINVALID, "leads outside the workspace"},
		{"modify through symlink dir to outside", "--- a/out/secret.txt\n+++ b/out/secret.txt\n@@ -1 +1 @@\n-secret\n+owned\n", nil, factory.EINVALID, "through the symlink"},
		{"modify symlinked file as regular", "--- a/linkfile\n+++ b/linkfile\n@@ -1 +1 @@\n-secret\n+owned\n", nil, factory.EINVALID, "is a symlink in the workspace"},
		{"rename from through symlink", "diff --git a/out/secret.txt b/stolen.txt\nsimilarity index 100%\nrename from out/secret.txt\nrename to stolen.txt\n", nil, factory.EINVALID, "through the symlink"},
		{"symlink to absolute", newLink("abs", "/etc"), nil, factory.EINVALID, "absolute path"},
		{"symlink escaping", newLink("sub/esc", "../../outside"), nil, factory.EINVALID, "points outside the workspace"},
		{"symlink escaping via dots", newLink("esc2", "sub/../.."), nil, factory.EINVALID, "points outside the workspace"},
		{"symlink into .git", newLink("hooks", ".git/hooks"), nil, factory.EINVALID, "points into .git"},
		{"symlink through outside symlink", newLink("l2", "out/secret.txt"), nil, factory.EINVALID, "passes through the symlink"},
		{"symlink then file under it", newLink("d", "sub") + newFile("d/evil.txt", "x"), nil, factory.EINVALID, "a symlink this patch creates"},
		{"file then symlink over its dir", newFile("d/evil.txt", "x") + newLink("d", "sub"), nil, factory.EINVALID, "a symlink this patch creates"},
		{"symlink to dot then rename under it", newLink("dot", ".") + "diff --git a/a.txt b/dot/a2.txt\nsimilarity index 100%\nrename from a.txt\nrename to dot/a2.txt\n", nil, factory.EINVALID, "a symlink this patch creates"},
		{"new file under inside symlink", newFile("inlink/y.txt", "y"), nil, factory.EINVALID, "through the symlink"},
		{"huge hunk count", "--- a/f.txt\n+++ b/f.txt\n@@ -1,99999999999999999999 +1,3 @@\n line 1\n-line 2\n+line two\n line 3\n", nil, factory.EINVALID, "out of range"},
		{"huge hunk start", "--- a/f.txt\n+++ b/f.txt\n@@ -4294967296,3 +1,3 @@\n line 1\n-line 2\n+line two\n line 3\n", nil, factory.EINVALID, "out of range"},
		{"50 MB line", huge, nil, factory.EINVALID, "larger than the"},
		{"binary patch for other content", "", binMismatch, factory.ECONFLICT, "not the one the patch was made from"},
		{"binary delta for other content", "", binDeltaNoIndex, factory.ECONFLICT, "does not match the file"},
		{"corrupt binary data", "diff --git a/bin.bin b/bin.bin\nindex 1111111..2222222 100644\nGIT binary patch\nliteral 10\nzcmV?d000\n\n", nil, factory.EINVALID, "binary patch"},
		{"fails on its last file", editF + newFile("new.txt", "n") + "--- a/c.txt\n+++ b/c.txt\n@@ -1 +1 @@\n-not c\n+C\n", nil, factory.ECONFLICT, "c.txt hunk 1"},
		{"delete missing file", "--- a/nope.txt\n+++ /dev/null\n@@ -1 +0,0 @@\n-x\n", nil, factory.ECONFLICT, "does not exist"},
		{"deletion leaves content", "diff --git a/f.txt b/f.txt\ndeleted file mode 100644\n--- a/f.txt\n+++ /dev/null\n@@ -1,2 +0,0 @@\n-line 1\n-line 2\n", nil, factory.ECONFLICT, "leaves"},
		{"new file over directory", newFile("sub", "x"), nil, factory.ECONFLICT, "is a directory"},
		{"file under a file", newFile("a.txt/inner", "x"), nil, factory.ECONFLICT, "a.txt is a file"},
		{"hunk without header", "@@ -1 +1 @@\n-line 1\n+x\n", nil, factory.EINVALID, "hunk without a file header"},
		{"no diff at all", "just some text\nthat is not a patch\n", nil, factory.EINVALID, "no file changes"},
		{"submodule", "diff --git a/mod b/mod\nnew file mode 160000\nindex 0000000..1234567\n--- /dev/null\n+++ b/mod\n@@ -0,0 +1 @@\n+Subproject commit 1234567890123456789012345678901234567890\n", nil, factory.EINVALID, "submodule"},
		{"binary without data", "diff --git a/bin.bin b/bin.bin\nindex 1234567..89abcde 100644\nBinary files a/bin.bin and b/bin.bin differ\n", nil, factory.EINVALID, "git diff --binary"},
	}
	require.GreaterOrEqual(t, len(cases), 25)
	template := newAdvWorkspace(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := advWorkspace{dir: filepath.Join(t.TempDir(), "ws"), outside: template.outside}
			out, err := exec.Command("cp", "-a", template.dir, w.dir).CombinedOutput()
			require.NoError(t, err, "%s", out)
			before, outBefore := fingerprint(t, w.dir), fingerprint(t, w.outside)
			text := tc.patch
			if tc.gen != nil {
				text = tc.gen(t)
			}
			root, err := os.OpenRoot(w.dir)
			require.NoError(t, err)
			defer root.Close()
			for _, dry := range []bool{true, false} {
				rep, err := Apply(context.Background(), root, text, Options{DryRun: dry})
				require.Error(t, err)
				assert.Equal(t, tc.code, factory.ErrorCode(err), "%v", err)
				assert.Contains(t, err.Error(), tc.msg)
				if !dry {
					t.Log(err)
				}
				assert.False(t, rep.Applied)
				if tc.code == factory.ECONFLICT {
					assert.NotEmpty(t, rep.Conflicts)
				}
			}
			require.Equal(t, before, fingerprint(t, w.dir), "workspace changed")
			require.Equal(t, outBefore, fingerprint(t, w.outside), "outside directory changed")
			_, err = os.Lstat(filepath.Join(filepath.Dir(template.dir), "evil.txt"))
			require.ErrorIs(t, err, os.ErrNotExist)
		})
	}
}
