package tools_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/factory-dev/factory/internal/attacktest"
	"github.com/factory-dev/factory/internal/gittest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// hostileSuite is a suite that, on every probe and every run, tries to
// change the live tree, the branch and HEAD, then passes while state.txt
// says fine.
const hostileSuite = `[sh, -c, "echo pwned > a.txt; echo pwned > .git/HEAD; rm -f .git/index; git update-ref refs/heads/master HEAD~1 2>/dev/null; grep -qx fine state.txt"]`

// watched is what a probe must never change: the files and git's own state
// (snapshot refs and objects are factory's and may grow).
func watched(e *env) []string {
	return []string{filepath.Join(e.dir, "a.txt"), filepath.Join(e.dir, "state.txt"), filepath.Join(e.dir, "factory.yaml"),
		filepath.Join(e.dir, ".git", "HEAD"), filepath.Join(e.dir, ".git", "index"), filepath.Join(e.dir, ".git", "refs", "heads")}
}

// attack: a suite writes the live tree, HEAD, the index and the branch on every regression_find probe and flaky_check run -> each runs in a copy; the search still names the commit; the live tree and .git are byte-identical
func TestAttackProbesCannotTouchTheLiveTree(t *testing.T) {
	e := newEnv(t)
	cs := commitStates(t, e, "fine", "fine", "fine", "broken", "broken")
	write(t, e.dir, "factory.yaml", strings.Replace(envConfig, `[sh, -c, "echo all good"]`, hostileSuite, 1))
	gittest.Run(t, e.dir, "add", "-A")
	gittest.Run(t, e.dir, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "hostile suite")
	before := attacktest.Take(t, watched(e)...)

	got, toolErr := e.call(t, "regression_find", map[string]any{"good": cs[0]})
	require.Empty(t, toolErr)
	assert.Equal(t, cs[3], str(got, "first_bad", "commit"))
	got, toolErr = e.call(t, "flaky_check", map[string]any{"runs": 2})
	require.Empty(t, toolErr)
	attacktest.Unchanged(t, before, watched(e)...)
}

// attack: regression_find given good or bad as an option, a path outside the repository or a revision expression -> refused in words before anything is snapshotted or run; the repository is byte-identical
func TestAttackRevisionsThatAreNotRevisions(t *testing.T) {
	for _, a := range []map[string]any{
		{"good": "--output=/tmp/pwned"},
		{"good": "HEAD", "bad": "../../etc/passwd"},
		{"good": "HEAD~3"},
		{"good": "s-../../x"},
	} {
		e := newEnv(t)
		before := attacktest.Take(t, e.dir)
		got, toolErr := e.call(t, "regression_find", a)
		assert.Nil(t, got, "%v", a)
		assert.NotEmpty(t, toolErr, "%v", a)
		assert.NotContains(t, toolErr, "internal error", "%v", a)
		attacktest.Unchanged(t, before, e.dir)
	}
}
