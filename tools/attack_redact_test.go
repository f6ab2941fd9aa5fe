package tools_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/factory-dev/factory/internal/attacktest"
	"github.com/factory-dev/factory/internal/gittest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A secret shaped so that the run log's redactor knows it: a GitHub token.
var secret = "ghp_" + strings.Repeat("Ab3", 12)

// attack: put a secret in a file and ask snapshot_diff for a cut diff, so that the whole diff is copied into the run log -> the run log's copy has the secret redacted; the tree is untouched
func TestAttackSecretInFullDiff(t *testing.T) {
	e := newEnv(t)
	s := e.snapshot(t, "")
	write(t, e.dir, "creds.txt", "token: "+secret+"\n"+strings.Repeat("filler line\n", 4000))
	to := e.snapshot(t, "")
	before := attacktest.Take(t, e.dir)
	got, toolErr := e.call(t, "snapshot_diff", map[string]any{"from": s.ID, "to": to.ID, "max_bytes": 1024})
	require.Empty(t, toolErr)
	uri := str(got, "full_diff")
	require.True(t, strings.HasPrefix(uri, "factory://blobs/"), uri)
	_, data, err := e.store.Blob(context.Background(), strings.TrimPrefix(uri, "factory://blobs/"))
	require.NoError(t, err)
	assert.NotContains(t, string(data), secret)
	assert.Contains(t, string(data), "REDACTED")
	assert.Contains(t, read(t, e.dir, "creds.txt"), secret, "the tree keeps its own bytes")
	attacktest.Unchanged(t, before, e.dir)
}

// attack: a test suite prints a secret so that it lands in the run log's copy of the test log -> redacted there; the tree is untouched
func TestAttackSecretInTestLog(t *testing.T) {
	e := newEnv(t)
	write(t, e.dir, "factory.yaml", "version: 1\nsuites:\n  unit: {run: [sh, -c, \"echo token: "+secret+"\"], format: exit-code}\n")
	gittest.Run(t, e.dir, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qam", "leaky suite")
	s := e.snapshot(t, "")
	// The tree and git's own state; .git/factory is where factory caches
	// trees for copies.
	var paths []string
	for _, p := range []string{"a.txt", "factory.yaml", ".git/HEAD", ".git/index", ".git/refs", ".git/objects"} {
		paths = append(paths, filepath.Join(e.dir, p))
	}
	before := attacktest.Take(t, paths...)
	got, toolErr := e.call(t, "test_run", map[string]any{"snapshot": s.ID})
	require.Empty(t, toolErr)
	_, data, err := e.store.Blob(context.Background(), str(got, "id"))
	require.NoError(t, err)
	assert.NotContains(t, string(data), secret)
	assert.Contains(t, string(data), "REDACTED")
	attacktest.Unchanged(t, before, paths...)
}
