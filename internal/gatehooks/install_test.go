package gatehooks

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/factory-dev/factory/internal/attacktest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// attack: a settings file factory cannot read (not JSON, hooks of the
// wrong shape) is "repaired" by overwriting it, losing the person's
// settings -> refused with what to fix, the file byte-identical
func TestAttackBrokenClaudeSettingsAreNotOverwritten(t *testing.T) {
	for name, content := range map[string]string{
		"not json":     `{"model": "x",`,
		"hooks a list": `{"hooks": []}`,
		"event a map":  `{"hooks": {"PreToolUse": {}}}`,
	} {
		p := filepath.Join(t.TempDir(), ".claude", "settings.json")
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
		before := attacktest.Take(t, filepath.Dir(p))
		_, err := InstallClaudeHooks(p, "/opt/factory")
		require.Error(t, err, name)
		assert.Contains(t, err.Error(), "fix it", name)
		attacktest.Unchanged(t, before, filepath.Dir(p))
		assert.False(t, ClaudeHooksInstalled(p), name)
	}
}

func TestClaudeHooksReplaceFactorysOwnEntries(t *testing.T) {
	p := filepath.Join(t.TempDir(), "settings.json")
	_, err := InstallClaudeHooks(p, "/old/factory")
	require.NoError(t, err)
	_, err = InstallClaudeHooks(p, "/new place/factory")
	require.NoError(t, err)
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	assert.NotContains(t, string(b), "/old/factory", "a moved binary replaces the old entries")
	assert.Contains(t, string(b), `'/new place/factory' hook claude-pre-tool-use`)
	assert.True(t, ClaudeHooksInstalled(p))
}

func TestGitHookChainsAndRewritesItsOwn(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "hooks", "pre-commit")
	require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
	require.NoError(t, os.WriteFile(p, []byte("#!/bin/sh\nexit 0\n"), 0o755))
	assert.False(t, GitHookInstalled(p))
	_, err := InstallGitHook(p, "/a/factory")
	require.NoError(t, err)
	chained, err := os.ReadFile(p + ChainedSuffix)
	require.NoError(t, err)
	assert.Equal(t, "#!/bin/sh\nexit 0\n", string(chained))
	_, err = InstallGitHook(p, "/b/factory")
	require.NoError(t, err)
	b, _ := os.ReadFile(p)
	assert.Contains(t, string(b), "'/b/factory'")
	assert.True(t, GitHookInstalled(p))
	chained2, _ := os.ReadFile(p + ChainedSuffix)
	assert.Equal(t, chained, chained2, "the person's hook is chained once, untouched")

	// another tool replaced factory's hook while a chained one exists: say so
	require.NoError(t, os.WriteFile(p, []byte("#!/bin/sh\necho husky\n"), 0o755))
	_, err = InstallGitHook(p, "/b/factory")
	assert.ErrorContains(t, err, "merge them by hand")
}
