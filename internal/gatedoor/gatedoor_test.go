package gatedoor_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/factory-dev/factory/internal/gatedoor"
	"github.com/factory-dev/factory/internal/gatehooks"
	"github.com/factory-dev/factory/internal/gittest"
	"github.com/factory-dev/factory/sandbox"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A repository with one commit whose tree is recorded as accepted, as
// factory init --hooks leaves it.
func gatedRepo(t *testing.T) (string, *sandbox.Workspace) {
	t.Helper()
	dir := t.TempDir()
	gittest.Out(t, dir, "init", "-q", "-b", "main")
	require.NoError(t, os.WriteFile(filepath.Join(dir, "a.txt"), []byte("one\n"), 0o644))
	gittest.Out(t, dir, "add", "-A")
	gittest.Out(t, dir, "commit", "-qm", "base")
	ctx := context.Background()
	ws, err := sandbox.Open(ctx, sandbox.Config{Root: dir})
	require.NoError(t, err)
	t.Cleanup(func() { ws.Close() })
	head, err := ws.SnapshotRevision(ctx, "HEAD", "baseline")
	require.NoError(t, err)
	require.NoError(t, ws.MarkAccepted(ctx, head.ID))
	return dir, ws
}

// attack: the agent edits a file with its own tools, then runs `git add -A
// && git commit`, ends its turn, or lets git record the staged tree ->
// each is refused naming the file (or the tree) and change_propose, until
// the gate accepts that very tree; a push of HEAD's accepted tree goes
// through
func TestAttackUngatedEditIsRefusedUntilAccepted(t *testing.T) {
	ctx := context.Background()
	dir, ws := gatedRepo(t)

	commit := gatehooks.Analyze("git add -A && git commit -m x")
	why, err := gatedoor.CommandRefusal(ctx, ws, commit)
	require.NoError(t, err)
	assert.Empty(t, why, "HEAD's accepted tree may be committed")
	why, err = gatedoor.StopReason(ctx, ws)
	require.NoError(t, err)
	assert.Empty(t, why)

	require.NoError(t, os.WriteFile(filepath.Join(dir, "a.txt"), []byte("two\n"), 0o644))
	why, err = gatedoor.CommandRefusal(ctx, ws, commit)
	require.NoError(t, err)
	assert.Contains(t, why, "a.txt")
	assert.Contains(t, why, "change_propose")
	why, err = gatedoor.StopReason(ctx, ws)
	require.NoError(t, err)
	assert.Contains(t, why, "a.txt")
	gittest.Out(t, dir, "add", "-A")
	why, err = gatedoor.CommitRefusal(ctx, ws, "")
	require.NoError(t, err)
	assert.Contains(t, why, "was not accepted by the gate")

	// a push publishes HEAD, whose tree was accepted
	why, err = gatedoor.CommandRefusal(ctx, ws, gatehooks.Analyze("git push"))
	require.NoError(t, err)
	assert.Empty(t, why)

	snap, err := ws.Snapshot(ctx, "accepted by the gate")
	require.NoError(t, err)
	require.NoError(t, ws.MarkAccepted(ctx, snap.ID))
	for _, f := range []func() (string, error){
		func() (string, error) { return gatedoor.CommandRefusal(ctx, ws, commit) },
		func() (string, error) { return gatedoor.StopReason(ctx, ws) },
		func() (string, error) { return gatedoor.CommitRefusal(ctx, ws, "") },
	} {
		why, err := f()
		require.NoError(t, err)
		assert.Empty(t, why, "the accepted tree goes through")
	}
}
