package sandbox

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/factory-dev/factory"
	"github.com/factory-dev/factory/internal/attacktest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// attack: snapshot_restore of paths under committed symlinks (linkin -> sub, out -> outside dir, gh -> .git/hooks) and under a file -> EINVALID saying what to restore instead, tree, .git and the outside dir untouched
func TestAttackRestoreThroughSymlink(t *testing.T) {
	w, dir := rsRepo(t)
	ctx := context.Background()
	outside := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(outside, "secret.txt"), []byte("secret\n"), 0o644))
	rsWrite(t, dir, "sub/b.txt", "b\n", 0o644)
	rsSymlink(t, dir, "linkin", "sub")
	rsSymlink(t, dir, "out", outside)
	rsSymlink(t, dir, "gh", ".git/hooks")
	id, _ := rsSnap(t, w, dir)
	rsWrite(t, dir, "sub/b.txt", "changed\n", 0o644)
	before := attacktest.Take(t, dir, outside)
	for _, p := range []string{"linkin/b.txt", "out/secret.txt", "gh/pre-commit", "gh/deeper/x", "README/x"} {
		_, err := w.Restore(ctx, id, []string{p})
		require.Error(t, err, p)
		assert.Equal(t, factory.EINVALID, factory.ErrorCode(err), "%s: %v", p, err)
		assert.Contains(t, err.Error(), "restore \"", p)
	}
	// Everything else in the snapshot is still refused by nothing: it is
	// the chosen paths, not restore, that are refused.
	attacktest.Unchanged(t, before, dir, outside)
}
