//go:build linux

package proc

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/factory-dev/factory"
	"github.com/factory-dev/factory/internal/attacktest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// depsPair makes a live tree with a node_modules and a .venv/bin, and an
// empty copy of it.
func depsPair(t *testing.T) (copyDir, live string) {
	t.Helper()
	copyDir, live = t.TempDir(), t.TempDir()
	for _, f := range []string{"node_modules/lib/index.js", "node_modules/.bin/tool", ".venv/bin/python"} {
		p := filepath.Join(live, f)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte("live "+f+"\n"), 0o755))
	}
	return copyDir, live
}

// attack: a test run in the copy writes, deletes and replaces files and
// whole directories inside the live tree's node_modules and .venv/bin that
// it sees through the copy
// -> it reads them, its writes land in a discarded layer, the live
// directories are byte-identical
func TestAttackDepsWritesDiscarded(t *testing.T) {
	eachIsolation(t, func(t *testing.T, iso string) {
		copyDir, live := depsPair(t)
		before := attacktest.Take(t, live)
		script := `cat node_modules/lib/index.js .venv/bin/python || exit 9
echo evil > node_modules/lib/index.js
rm -f .venv/bin/python node_modules/.bin/tool
mkdir node_modules/new && echo x > node_modules/new/f
rm -rf node_modules/lib || exit 8
ls node_modules
`
		res, err := Run(context.Background(), Cmd{
			Argv: []string{"/bin/sh", "-c", script}, Dir: copyDir,
			Confine: &Confinement{Policy: factory.SandboxPolicy{Isolation: iso}, Writable: []string{copyDir},
				MountAs: Mount{Src: copyDir, Dst: live},
				Deps:    []string{filepath.Join(live, "node_modules"), filepath.Join(live, ".venv")}},
		})
		require.NoError(t, err)
		require.Equal(t, 0, res.ExitCode, "stdout %s stderr %s", res.Stdout, res.Stderr)
		assert.Contains(t, string(res.Stdout), "live node_modules/lib/index.js\nlive .venv/bin/python\n")
		assert.Contains(t, string(res.Stdout), "new", "the command's own writes are visible to it")
		attacktest.Unchanged(t, before, live)
		// Nor did the writes land in the copy's own tree: the copy holds
		// at most the empty mount points.
		for _, d := range []string{"node_modules", ".venv"} {
			ents, _ := os.ReadDir(filepath.Join(copyDir, d))
			assert.Empty(t, ents, "%s in the copy", d)
		}
	})
}

// attack: the live tree's node_modules is a symlink to /etc, and .venv to
// a directory outside the root holding a secret -> neither is shown in the
// sandbox (skipped with a note), and both targets are byte-identical
func TestAttackDepsSymlinkOut(t *testing.T) {
	eachIsolation(t, func(t *testing.T, iso string) {
		copyDir, live := t.TempDir(), t.TempDir()
		outside := t.TempDir()
		require.NoError(t, os.WriteFile(filepath.Join(outside, "secret"), []byte("s3cret\n"), 0o644))
		require.NoError(t, os.Symlink("/etc", filepath.Join(live, "node_modules")))
		require.NoError(t, os.Symlink(outside, filepath.Join(live, ".venv")))
		before := attacktest.Take(t, live, outside)
		res, err := Run(context.Background(), Cmd{
			Argv: []string{"/bin/sh", "-c", "cat node_modules/hostname .venv/secret; echo x > .venv/secret; ls -a"}, Dir: copyDir,
			Confine: &Confinement{Policy: factory.SandboxPolicy{Isolation: iso}, Writable: []string{copyDir},
				MountAs: Mount{Src: copyDir, Dst: live},
				Deps:    []string{filepath.Join(live, "node_modules"), filepath.Join(live, ".venv"), "/etc"}},
		})
		require.NoError(t, err)
		assert.NotContains(t, string(res.Stdout), "s3cret")
		host, _ := os.ReadFile("/etc/hostname")
		if len(strings.TrimSpace(string(host))) > 0 {
			assert.NotContains(t, string(res.Stdout), strings.TrimSpace(string(host)))
		}
		notes := strings.Join(res.Notes, "\n")
		assert.Contains(t, notes, "node_modules skipped")
		assert.Contains(t, notes, ".venv skipped")
		assert.Contains(t, notes, "/etc skipped: not inside the tree")
		attacktest.Unchanged(t, before, live, outside)
	})
}
