package sandbox_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/factory-dev/factory"
	"github.com/factory-dev/factory/sandbox"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestOpenFindsTheTopOfTheWorkingTree(t *testing.T) {
	dir := t.TempDir()
	out, err := exec.Command("git", "init", "-q", dir).CombinedOutput()
	require.NoError(t, err, string(out))
	sub := filepath.Join(dir, "a", "b")
	require.NoError(t, os.MkdirAll(sub, 0o755))

	w, err := sandbox.Open(context.Background(), sandbox.Config{Root: sub})
	require.NoError(t, err)
	top, _ := filepath.EvalSymlinks(dir)
	assert.Equal(t, top, w.Root())
	assert.Equal(t, filepath.Join(top, ".git"), w.GitDir())
}

func TestOpenOutsideARepositorySaysHowToFixIt(t *testing.T) {
	dir := t.TempDir()
	_, err := sandbox.Open(context.Background(), sandbox.Config{Root: dir})
	require.Error(t, err)
	assert.Equal(t, factory.EINVALID, factory.ErrorCode(err))
	assert.Contains(t, err.Error(), "git init")
	assert.Contains(t, err.Error(), "--root")
}
