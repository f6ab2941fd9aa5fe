package traces_test

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/factory-dev/factory"
	"github.com/factory-dev/factory/internal/attacktest"
	"github.com/factory-dev/factory/server"
	"github.com/factory-dev/factory/tools"
	"github.com/factory-dev/factory/traces"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// client speaks JSON-RPC over stdio to a real server on store, with the
// trace tools: what an MCP client sees, byte for byte.
type client struct {
	in  io.WriteCloser
	out *bufio.Scanner
	id  int
}

func serve(t *testing.T, store *traces.Store) *client {
	t.Helper()
	srv := server.New(server.Config{Store: store, Root: t.TempDir(), Version: "test", Logger: slog.New(slog.DiscardHandler)})
	srv.Register(tools.New(tools.Deps{Store: store, Runs: srv.Runs()}))
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { srv.ServeStdio(ctx, inR, outW); outW.Close(); close(done) }()
	t.Cleanup(func() { inW.Close(); cancel(); <-done })
	c := &client{in: inW, out: bufio.NewScanner(outR)}
	c.out.Buffer(make([]byte, 1<<20), 1<<20)
	c.request(t, "initialize", map[string]any{"protocolVersion": "2025-11-25", "capabilities": map[string]any{}, "clientInfo": map[string]any{"name": "fault", "version": "1"}})
	_, err := io.WriteString(c.in, `{"jsonrpc":"2.0","method":"notifications/initialized"}`+"\n")
	require.NoError(t, err)
	return c
}

// reply is a JSON-RPC response as the client reads it.
type reply struct {
	Result struct {
		IsError bool `json:"isError"`
		Content []struct {
			Text string `json:"text"`
		} `json:"content"`
	} `json:"result"`
	Error *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// text is every text content of the reply, one per line.
func (r reply) text() string {
	var b strings.Builder
	for _, c := range r.Result.Content {
		b.WriteString(c.Text + "\n")
	}
	return b.String()
}

func (c *client) request(t *testing.T, method string, params any) reply {
	t.Helper()
	c.id++
	line, err := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": c.id, "method": method, "params": params})
	require.NoError(t, err)
	_, err = c.in.Write(append(line, '\n'))
	require.NoError(t, err)
	require.True(t, c.out.Scan(), "no reply to %s", method)
	var r reply
	require.NoError(t, json.Unmarshal(c.out.Bytes(), &r), c.out.Text())
	return r
}

func (c *client) call(t *testing.T, tool string, args any) reply {
	t.Helper()
	return c.request(t, "tools/call", map[string]any{"name": tool, "arguments": args})
}

// faultOf is the *traces.Fault in err, failing the test without one.
func faultOf(t *testing.T, err error) *traces.Fault {
	t.Helper()
	var f *traces.Fault
	require.True(t, errors.As(err, &f), "want a *traces.Fault in %v", err)
	return f
}

// damaged makes a run log of garbage bytes, as a damaged disk or a stray
// write leaves one, and returns its directory and path.
func damaged(t *testing.T) (dir, path string) {
	dir = t.TempDir()
	path = filepath.Join(dir, "factory.db")
	require.NoError(t, os.WriteFile(path, bytes.Repeat([]byte("garbage!"), 1024), 0o600))
	return dir, path
}

// attack: the run log file holds garbage bytes (a damaged file) -> Open fails with EUNAVAILABLE naming the path and the fix, not an internal error; the damaged file is left byte-identical for the user
func TestAttackCorruptRunLogIsExplained(t *testing.T) {
	dir, path := damaged(t)
	before := attacktest.Take(t, dir)
	_, err := traces.Open(context.Background(), traces.Config{Path: path})
	assert.Equal(t, factory.EUNAVAILABLE, factory.ErrorCode(err), "%v", err)
	assert.Contains(t, factory.ErrorMessage(err), "the run log at "+path+" could not be opened: the file is damaged")
	assert.Contains(t, faultOf(t, err).Fix, "mv "+path+" "+path+".broken")
	attacktest.Unchanged(t, before, dir)
}

// attack: a damaged run log is meant to stop every tool -> a stand-in run log takes its place: calls succeed, each result carries a notice naming the path, the cause and the fix, and the damaged file is left byte-identical; the stand-in is removed at close
func TestAttackCorruptRunLogGetsAStandIn(t *testing.T) {
	dir, path := damaged(t)
	before := attacktest.Take(t, dir)
	tmp := t.TempDir() // the stand-in's parent, so that no other process's stand-in is taken for it
	t.Setenv("TMPDIR", tmp)
	store, err := traces.OpenOrStandIn(context.Background(), traces.Config{Path: path})
	require.NoError(t, err)
	f := faultOf(t, store.Fault())
	assert.Equal(t, path, f.Path)
	assert.Equal(t, factory.EUNAVAILABLE, factory.ErrorCode(store.Fault()))

	c := serve(t, store)
	r := c.call(t, "trace_note", map[string]any{"text": "chose sqlite"})
	require.Nil(t, r.Error)
	assert.False(t, r.Result.IsError, r.text())
	assert.Contains(t, r.text(), "chose sqlite", "the call itself succeeded")
	assert.Contains(t, r.text(), "notice: the run log at "+path+" could not be opened: the file is damaged (not a readable SQLite database); this call was not recorded there")
	assert.Contains(t, r.text(), "mv "+path)
	attacktest.Unchanged(t, before, dir)

	standIn := standInDir(t, tmp)
	require.NoError(t, store.Close())
	_, err = os.Stat(standIn)
	assert.True(t, errors.Is(err, os.ErrNotExist), "the stand-in's directory is removed at close: %v", err)
}

// standInDir is the one stand-in directory in tmp.
func standInDir(t *testing.T, tmp string) string {
	t.Helper()
	dirs, err := filepath.Glob(filepath.Join(tmp, "factory-runlog-*"))
	require.NoError(t, err)
	require.Len(t, dirs, 1, "one stand-in directory")
	return dirs[0]
}

// seed makes a run log at path holding one run with a note.
func seed(t *testing.T, path, note string) {
	t.Helper()
	ctx := context.Background()
	s, err := traces.Open(ctx, traces.Config{Path: path})
	require.NoError(t, err)
	run, err := s.StartRun(ctx, factory.Run{Name: "seed"})
	require.NoError(t, err)
	_, err = s.AddMessage(ctx, factory.Message{RunID: run.ID, Kind: "decision", Text: note})
	require.NoError(t, err)
	require.NoError(t, s.Close())
}

// attack: the run log is on a read-only file system (SQLite opens it with mode=ro) -> Open fails with EUNAVAILABLE naming the path, "cannot be written" and chmod/--db; the tools fall back to a stand-in and say so; the file is byte-identical
func TestAttackReadOnlyRunLog(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "factory.db")
	seed(t, path, "kept")
	before := attacktest.Take(t, path)

	cfg := traces.ReadOnly(traces.Config{Path: path})
	_, err := traces.Open(ctx, cfg)
	assert.Equal(t, factory.EUNAVAILABLE, factory.ErrorCode(err), "%v", err)
	f := faultOf(t, err)
	assert.Equal(t, path, f.Path)
	assert.Contains(t, f.Cause, "cannot be written")
	assert.Contains(t, f.Fix, "chmod u+w "+path)
	assert.Contains(t, f.Fix, "--db")

	store, err := traces.OpenOrStandIn(ctx, cfg)
	require.NoError(t, err)
	defer store.Close()
	r := serve(t, store).call(t, "trace_note", map[string]any{"text": "still works"})
	require.Nil(t, r.Error)
	assert.False(t, r.Result.IsError, r.text())
	assert.Contains(t, r.text(), "notice: the run log at "+path+" could not be opened: the file or its directory cannot be written")
	attacktest.Unchanged(t, before, path)
}

// attack: the disk holding the run log fills up (SQLite reports SQLITE_FULL) while an agent writes a note -> the client reads a tool error saying "no space left on device" and what to do, not "internal error e-..."; the next call succeeds and carries a notice that calls may not be recorded; the rows written before are intact
func TestAttackFullDiskReachesTheClientInWords(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "factory.db")
	seed(t, path, "before the disk filled")
	fi, err := os.Stat(path)
	require.NoError(t, err)

	// The file may not grow: SQLite reports SQLITE_FULL as on a full disk.
	store, err := traces.Open(ctx, traces.MaxPages(traces.Config{Path: path}, int(fi.Size()/4096)))
	require.NoError(t, err)
	defer store.Close()
	c := serve(t, store)
	big := strings.Repeat("a long decision record that needs new pages ", 1200)
	r := c.call(t, "trace_note", map[string]any{"text": big})
	require.Nil(t, r.Error, "a full disk is a tool error the agent reads, not a protocol error")
	assert.True(t, r.Result.IsError)
	assert.Contains(t, r.text(), "the run log at "+path+" could not be written: the disk is full (ENOSPC: no space left on device)")
	assert.Contains(t, r.text(), "free space")
	assert.NotContains(t, r.text(), "internal error")

	r = c.call(t, "trace_query", map[string]any{"kind": "messages", "text": "disk"})
	require.Nil(t, r.Error)
	assert.False(t, r.Result.IsError, r.text())
	assert.Contains(t, r.text(), "before the disk filled")
	assert.Contains(t, r.text(), "notice: the run log at "+path+" could not be written: the disk is full")
}

// A run log written by a newer factory is not damaged, but this factory
// cannot use it either: the stand-in's notice says to upgrade.
func TestNewerRunLogGetsAStandInThatSaysUpgrade(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "factory.db")
	seed(t, path, "from a newer factory")
	db, err := sql.Open("sqlite3", path)
	require.NoError(t, err)
	_, err = db.Exec("PRAGMA user_version = 999")
	require.NoError(t, err)
	require.NoError(t, db.Close())

	store, err := traces.OpenOrStandIn(ctx, traces.Config{Path: path})
	require.NoError(t, err)
	defer store.Close()
	assert.Contains(t, store.Notice(), "notice: the run log at "+path+" could not be opened: ")
	assert.Contains(t, store.Notice(), "schema version 999")
	assert.Contains(t, store.Notice(), "upgrade factory")
	assert.Contains(t, store.Notice(), "this call was not recorded there")
}
