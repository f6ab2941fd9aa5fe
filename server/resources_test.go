package server_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/factory-dev/factory/server"
	"github.com/factory-dev/factory/tools"
	"github.com/factory-dev/factory/traces"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// resourceFixture is a server with factory's resource templates over a
// run log holding a test log t-abc and a diff d-1.
func resourceFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	store, err := traces.Open(ctx, traces.Config{Path: filepath.Join(t.TempDir(), "factory.db")})
	require.NoError(t, err)
	t.Cleanup(func() { store.Close() })
	require.NoError(t, store.PutBlob(ctx, "t-abc", "test-log", []byte("=== RUN TestX\n--- PASS: TestX\n")))
	require.NoError(t, store.PutBlob(ctx, "d-1", "diff", []byte("--- a/x\n+++ b/x\n")))
	srv := server.New(server.Config{Store: store, Root: "/work", Version: "test", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	for _, r := range tools.Resources(tools.Deps{Store: store}) {
		srv.AddResourceTemplate(r.Template, r.Handler)
	}
	return &fixture{store: store, srv: srv}
}

// read sends resources/read of uri and returns the text of its one
// content, or the JSON-RPC error's message.
func read(t *testing.T, c *stdioClient, id int, uri string) (text string, errMsg string) {
	t.Helper()
	b, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": id, "method": "resources/read", "params": map[string]any{"uri": uri}})
	c.send(t, string(b))
	var r struct {
		Result struct {
			Contents []struct {
				Text string `json:"text"`
			} `json:"contents"`
		} `json:"result"`
		Error *struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	raw, _ := json.Marshal(c.recv(t))
	require.NoError(t, json.Unmarshal(raw, &r))
	if r.Error != nil {
		return "", r.Error.Message
	}
	require.Len(t, r.Result.Contents, 1)
	return r.Result.Contents[0].Text, ""
}

// attack: an agent reads a blob id it made up (or one from another repository) through resources/read, hoping for an internal error that leaks details -> an error whose message says the id is unknown, where ids come from and which ids there are; the blobs are unchanged
func TestAttackUnknownBlobOverResourcesRead(t *testing.T) {
	f := resourceFixture(t)
	c := startStdio(t, f)
	for i, uri := range []string{"factory://blobs/t-madeup", "factory://tests/t-madeup/log"} {
		_, msg := read(t, c, i+1, uri)
		assert.Contains(t, msg, `blob "t-madeup" is unknown`, uri)
		assert.Contains(t, msg, "pass an id a tool returned (snapshot_diff's full_diff, test_run's log)", uri)
		assert.Contains(t, msg, "the newest are ", uri)
		assert.Contains(t, msg, "t-abc", uri)
		assert.NotContains(t, msg, "internal error", uri)
	}
	_, msg := read(t, c, 3, "factory://tests/d-1/log")
	assert.Contains(t, msg, `"d-1" is a diff, not a test run's log; read it as factory://blobs/d-1`)

	for _, id := range []string{"t-abc", "d-1"} {
		_, data, err := f.store.Blob(context.Background(), id)
		require.NoError(t, err)
		assert.NotEmpty(t, data)
	}
}

// A test report's id addresses its full log at factory://tests/<id>/log,
// as factory.TestReport documents, and at factory://blobs/<id>, where
// test_run's log field points.
func TestTestLogIsServedAtBothURIs(t *testing.T) {
	c := startStdio(t, resourceFixture(t))
	for i, uri := range []string{"factory://tests/t-abc/log", "factory://blobs/t-abc"} {
		text, msg := read(t, c, i+1, uri)
		assert.Empty(t, msg, uri)
		assert.Equal(t, "=== RUN TestX\n--- PASS: TestX\n", text, uri)
	}
}
