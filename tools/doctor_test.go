package tools_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/factory-dev/factory"
	"github.com/factory-dev/factory/tools"
	"github.com/factory-dev/factory/traces"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The doctor tool an agent calls over MCP sees the stand-in as doctor on
// the command line does: the run log check fails with the cause and the
// fix, once.
func TestDiagnoseReportsAStandInRunLogOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "factory.db")
	require.NoError(t, os.WriteFile(path, bytes.Repeat([]byte("garbage!"), 1024), 0o600))
	store, err := traces.OpenOrStandIn(context.Background(), traces.Config{Path: path})
	require.NoError(t, err)
	defer store.Close()
	rep := tools.Diagnose(context.Background(), tools.Deps{Store: store, DBPath: path})
	assert.False(t, rep.OK)
	var runLog []tools.Check
	for _, c := range rep.Checks {
		if c.Name == "run log" {
			runLog = append(runLog, c)
		}
	}
	require.Len(t, runLog, 1)
	assert.False(t, runLog[0].OK)
	assert.Contains(t, runLog[0].Detail, "the run log at "+path+" could not be opened: the file is damaged")
	assert.Contains(t, runLog[0].Detail, "temporary run log")
	assert.Contains(t, runLog[0].Fix, "mv "+path)
}

func TestDiagnoseUnopenedSaysWhyAndHow(t *testing.T) {
	err := factory.Errorf(factory.EINVALID, "/x is not inside a git repository; run `git init` there, or pass --root")
	rep := tools.DiagnoseUnopened(context.Background(), "v", err)
	assert.False(t, rep.OK)
	var ws tools.Check
	for _, c := range rep.Checks {
		assert.NotEqual(t, "run log", c.Name, "no workspace, no run log to check")
		if c.Name == "workspace" {
			ws = c
		}
	}
	assert.Equal(t, tools.Check{Name: "workspace", Detail: "/x is not inside a git repository", Fix: "run `git init` there, or pass --root"}, ws)

	rep = tools.DiagnoseUnopened(context.Background(), "v", errors.New("git exploded"))
	for _, c := range rep.Checks {
		if c.Name == "workspace" {
			assert.Equal(t, "git exploded", c.Detail, "the cause as it is: the reader is the user at the terminal")
			assert.Contains(t, c.Fix, "git init")
		}
	}
}
