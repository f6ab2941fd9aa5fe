package tools_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/factory-dev/factory"
	"github.com/factory-dev/factory/internal/gittest"
	"github.com/factory-dev/factory/sandbox"
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

// doctor says whether snapshots re-read only what changed: a workspace
// opened with the watcher (as serve opens it) counts its directories, one
// without says snapshots walk the whole tree.
func TestDiagnoseSaysWhetherTheWatcherRuns(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("inotify is Linux's")
	}
	dir := t.TempDir()
	gittest.Run(t, dir, "init", "-q")
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "a", "b"), 0o755))
	write(t, dir, "a/b/c.txt", "x\n")
	gittest.Run(t, dir, "add", "-A")
	gittest.Run(t, dir, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "start")
	watcher := func(cfg sandbox.Config) tools.Check {
		ws, err := sandbox.Open(context.Background(), cfg)
		require.NoError(t, err)
		defer ws.Close()
		_, err = ws.Snapshot(context.Background(), "") // the first capture arms the watches
		require.NoError(t, err)
		for _, c := range tools.Diagnose(context.Background(), tools.Deps{Workspace: ws}).Checks {
			if c.Name == "watcher" {
				return c
			}
		}
		t.Fatal("no watcher check")
		return tools.Check{}
	}
	on := watcher(sandbox.Config{Root: dir, Watch: true})
	assert.True(t, on.OK)
	assert.Regexp(t, `^inotify on [3-9] directories`, on.Detail)
	off := watcher(sandbox.Config{Root: dir})
	assert.True(t, off.OK)
	assert.Contains(t, off.Detail, "walk the whole tree")
}
