package sandbox

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/factory-dev/factory"
	"github.com/factory-dev/factory/internal/attacktest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestFirstParentsFollowsTheMainLine: a merged side branch is stood for
// by its merge, as git rev-list --first-parent has it, and the walk reads
// the object store only.
func TestFirstParentsFollowsTheMainLine(t *testing.T) {
	w, dir := rsRepo(t)
	head := func() string { return strings.TrimSpace(rsGit(t, dir, "rev-parse", "HEAD")) }
	rsGit(t, dir, "commit", "--allow-empty", "-qm", "base")
	base := head()
	rsGit(t, dir, "checkout", "-qb", "side")
	rsGit(t, dir, "commit", "--allow-empty", "-qm", "side work")
	rsGit(t, dir, "checkout", "-q", "main")
	rsGit(t, dir, "commit", "--allow-empty", "-qm", "main work\n\nbody line")
	rsGit(t, dir, "merge", "-q", "--no-ff", "-m", "merge side", "side")
	guard := []string{filepath.Join(dir, ".git", "index"), filepath.Join(dir, ".git", "HEAD"), filepath.Join(dir, ".git", "refs")}
	before := attacktest.Take(t, guard...)

	cs, err := w.FirstParents(context.Background(), base, "HEAD", 100)
	require.NoError(t, err)
	var subjects []string
	for _, c := range cs {
		subjects = append(subjects, c.Subject)
		assert.False(t, c.Time.IsZero(), c.Subject)
		assert.Len(t, c.Tree, 40, c.Subject)
	}
	assert.Equal(t, []string{"base", "main work", "merge side"}, subjects)
	want := strings.Fields(rsGit(t, dir, "rev-list", "--first-parent", "--reverse", base+"^..HEAD"))
	assert.Equal(t, want, []string{cs[0].Commit, cs[1].Commit, cs[2].Commit}, "as git lists them")

	_, err = w.FirstParents(context.Background(), "side", "HEAD", 100)
	assert.Equal(t, factory.EINVALID, factory.ErrorCode(err), "side is not on the main line: %v", err)
	_, err = w.FirstParents(context.Background(), base, "HEAD", 2)
	assert.Equal(t, factory.EINVALID, factory.ErrorCode(err), "beyond the limit: %v", err)
	attacktest.Unchanged(t, before, guard...)
}
