package testrun_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/factory-dev/factory"
	"github.com/factory-dev/factory/sandbox/testrun"
	"github.com/stretchr/testify/require"
)

// A monorepo's packages keep node_modules of their own (pnpm always, npm
// and yarn when versions clash): ignored, so no copy holds them. A test in
// a package that requires its own dependency passes in the sandbox, for
// packages named by package.json's workspaces and by pnpm-workspace.yaml.
func TestWorkspacePackageDependencies(t *testing.T) {
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("node is not installed")
	}
	for name, declare := range map[string]map[string]string{
		"npm":  {"package.json": `{"name": "mono", "private": true, "workspaces": ["packages/*"]}`},
		"yarn": {"package.json": `{"name": "mono", "private": true, "workspaces": {"packages": ["packages/*", "!packages/skip"]}}`},
		"pnpm": {"package.json": `{"name": "mono", "private": true}`, "pnpm-workspace.yaml": "packages:\n  - 'packages/*'\n  - '!**/test/**'\n"},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			files := map[string]string{
				".gitignore":              "node_modules/\n",
				"packages/a/package.json": `{"name": "a", "dependencies": {"dep": "1.0.0"}}`,
				"packages/a/test.js":      "const dep = require('dep');\nif (dep.answer !== 42) { console.error('wrong dep'); process.exit(1); }\nconsole.log('dep found');\n",
				"packages/b/package.json": `{"name": "b"}`,
			}
			for f, body := range declare {
				files[f] = body
			}
			for f, body := range files {
				p := filepath.Join(dir, f)
				require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
				require.NoError(t, os.WriteFile(p, []byte(body), 0o644))
			}
			w := commitAndOpen(t, dir)
			// Installed after the commit, as a package manager does: ignored.
			dep := filepath.Join(dir, "packages", "a", "node_modules", "dep")
			require.NoError(t, os.MkdirAll(dep, 0o755))
			require.NoError(t, os.WriteFile(filepath.Join(dep, "index.js"), []byte("module.exports = { answer: 42 };\n"), 0o644))

			s := factory.Suite{Name: "a", Run: []string{"node", "packages/a/test.js"}, Format: factory.FormatExitCode}
			rep, log := runOrSkip(t, w, testrun.Job{Suite: s})
			require.Equal(t, factory.TestPass, rep.Status, "%v\n%s", rep.Notes, log)
			require.Contains(t, string(log), "dep found")
			require.NoFileExists(t, filepath.Join(dir, "packages", "b", "node_modules"), "only what exists is shown")
		})
	}
}

// attack: workspaces patterns that climb out of the tree (../*, an absolute path, a/../../x), a symlinked package directory leading outside, and a "**" pattern meant to make factory walk the whole tree -> none is listed; only the package directories inside the tree are
func TestAttackWorkspacePatternsStayInside(t *testing.T) {
	base := t.TempDir()
	root, outside := filepath.Join(base, "root"), filepath.Join(base, "outside")
	for _, d := range []string{filepath.Join(root, "packages", "a"), filepath.Join(outside, "pkg", "node_modules")} {
		require.NoError(t, os.MkdirAll(d, 0o755))
	}
	require.NoError(t, os.Symlink(filepath.Join(outside, "pkg"), filepath.Join(root, "packages", "evil")))
	pj := `{"workspaces": ["../*", "` + outside + `/*", "packages/../../outside/*", "**", "packages/*"]}`
	require.NoError(t, os.WriteFile(filepath.Join(root, "package.json"), []byte(pj), 0o644))
	require.Equal(t, []string{filepath.Join("packages", "a")}, testrun.JSWorkspaces(root))
}
