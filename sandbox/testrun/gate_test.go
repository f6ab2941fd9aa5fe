package testrun_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/factory-dev/factory"
	"github.com/factory-dev/factory/invariants/gates"
	"github.com/factory-dev/factory/sandbox/testrun"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRunCommandShowsTheCopyAtTheLiveRoot runs a gate command in an
// isolated copy: it sees the copy at the live tree's path, gets the extra
// environment in a fixed order, writes only into the copy, and the result
// says where it ran.
func TestRunCommandShowsTheCopyAtTheLiveRoot(t *testing.T) {
	w := fixtureRepo(t, "gomod")
	ctx := context.Background()
	c, err := testrun.Workspace{Workspace: w}.Isolate(ctx, "")
	require.NoError(t, err)
	defer c.Close()
	rn := testrun.New(w)
	res, err := rn.RunCommand(ctx, gates.Command{
		Argv: []string{"sh", "-c", `pwd; echo "$B$A"; echo made > made.txt`},
		Dir:  c.Dir(),
		Env:  map[string]string{"B": "b", "A": "a"},
	})
	require.NoError(t, err)
	require.Equal(t, 0, res.ExitCode, string(res.Stderr))
	lines := strings.Split(strings.TrimSpace(string(res.Stdout)), "\n")
	require.Len(t, lines, 2)
	if res.Dir != "" { // confined: the copy is mounted at the live root
		assert.Equal(t, w.Root(), res.Dir)
		assert.Equal(t, w.Root(), lines[0])
	}
	assert.Equal(t, "ba", lines[1])
	_, err = os.Stat(filepath.Join(c.Dir(), "made.txt"))
	assert.NoError(t, err, "the command writes into the copy")
	_, err = os.Stat(filepath.Join(w.Root(), "made.txt"))
	assert.True(t, os.IsNotExist(err), "the live tree is untouched")

	res, err = rn.RunCommand(ctx, gates.Command{Argv: []string{"false"}, Dir: c.Dir()})
	require.NoError(t, err, "a failing command is a result, not an error")
	assert.Equal(t, 1, res.ExitCode)
}

// TestRunSuiteUsesItsOwnCopy runs a suite on a snapshot through the gate
// interface: the report names the snapshot, the fixture's broken package
// and its failures.
func TestRunSuiteUsesItsOwnCopy(t *testing.T) {
	w := fixtureRepo(t, "gomod")
	ctx := context.Background()
	s, err := w.Snapshot(ctx, "")
	require.NoError(t, err)
	rep, err := testrun.New(w).RunSuite(ctx, gates.SuiteRun{Snapshot: s.ID, Suite: goFixtureSuite})
	require.NoError(t, err)
	assert.Equal(t, s.ID, rep.Snapshot)
	assert.Equal(t, factory.TestError, rep.Status)
	require.Len(t, rep.BuildErrors, 1)
	assert.Equal(t, "example.com/fixture/broken", rep.BuildErrors[0].Package)
	assert.Contains(t, failureNames(rep.Failures), "TestAddFails")
}

// TestWorkspaceIsolateErrorIsANilCopy: a failed Isolate hands the gates a
// nil interface, not a typed nil they would call Close on.
func TestWorkspaceIsolateErrorIsANilCopy(t *testing.T) {
	w := fixtureRepo(t, "gomod")
	c, err := testrun.Workspace{Workspace: w}.Isolate(context.Background(), "s-000000")
	require.Error(t, err)
	assert.Equal(t, factory.ENOTFOUND, factory.ErrorCode(err))
	assert.True(t, c == nil)
}
