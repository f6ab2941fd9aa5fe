package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"github.com/factory-dev/factory/traces/redact"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/factory-dev/factory/internal/attacktest"
	"github.com/factory-dev/factory/sandbox"
	"github.com/factory-dev/factory/server"
	"github.com/factory-dev/factory/tools"
	"github.com/factory-dev/factory/traces"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// gitRepo makes a repository with one commit and returns its top.
func gitRepo(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, args := range [][]string{{"init", "-q"}, {"config", "user.email", "t@example.com"}, {"config", "user.name", "t"}} {
		out, err := exec.Command("git", append([]string{"-C", dir}, args...)...).CombinedOutput()
		require.NoError(t, err, "%s", out)
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "a.txt"), []byte("one\n"), 0o644))
	out, err := exec.Command("git", "-C", dir, "add", ".").CombinedOutput()
	require.NoError(t, err, "%s", out)
	out, err = exec.Command("git", "-C", dir, "commit", "-qm", "init").CombinedOutput()
	require.NoError(t, err, "%s", out)
	return dir
}

// attack: an agent labels a snapshot "password=..." so that the secret is kept in the run log's step result and, for good, in the snapshot's commit message -> both hold [REDACTED]; the live tree and HEAD are untouched
func TestAttackSnapshotLabelCarriesPassword(t *testing.T) {
	ctx := context.Background()
	repo := gitRepo(t)
	const secret = "Hunter2Qz7vLp9"
	require.NoError(t, os.WriteFile(filepath.Join(repo, "a.txt"), []byte("two\n"), 0o644))
	live := attacktest.Take(t, filepath.Join(repo, "a.txt"), filepath.Join(repo, ".git", "HEAD"), filepath.Join(repo, ".git", "index"))
	ws, err := sandbox.Open(ctx, sandbox.Config{Root: repo, Redact: redact.Stored})
	require.NoError(t, err)
	dbDir := t.TempDir()
	store, err := traces.Open(ctx, traces.Config{Path: filepath.Join(dbDir, "factory.db")})
	require.NoError(t, err)
	srv := server.New(server.Config{Store: store, Root: repo, Version: "test", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	srv.Register(tools.New(tools.Deps{Store: store, Workspace: ws, Runs: srv.Runs()}))

	res, err := srv.CallTool(ctx, "snapshot_create", json.RawMessage(`{"label":"deploy password=`+secret+`"}`))
	require.NoError(t, err)
	require.False(t, res.IsError, "%v", res.Text)
	assert.NotContains(t, res.Text[0], secret)

	p, err := store.Query(ctx, traces.Query{Tool: "snapshot_create"})
	require.NoError(t, err)
	require.Len(t, p.Steps, 1)
	assert.NotContains(t, p.Steps[0].Result, secret)
	assert.Contains(t, p.Steps[0].Result, "password=[REDACTED]", "the stored result shows what was hidden")
	require.NoError(t, store.Close())
	for _, f := range []string{"factory.db", "factory.db-wal"} {
		data, err := os.ReadFile(filepath.Join(dbDir, f))
		if err == nil {
			assert.False(t, bytes.Contains(data, []byte(secret)), "%s holds the secret", f)
		}
	}

	msgs, err := exec.Command("git", "-C", repo, "log", "--format=%B", "--glob=refs/factory/snapshots/*").CombinedOutput()
	require.NoError(t, err, "%s", msgs)
	assert.Contains(t, string(msgs), "password=[REDACTED]")
	assert.NotContains(t, string(msgs), secret, "the commit message in the object store")
	attacktest.Unchanged(t, live, filepath.Join(repo, "a.txt"), filepath.Join(repo, ".git", "HEAD"), filepath.Join(repo, ".git", "index"))
}

// attack: an agent makes a tool fail with a message quoting a password, so that the span's error status ships it to the trace backend -> the exported span holds [REDACTED]
func TestAttackSpanAttributeCarriesToken(t *testing.T) {
	mem := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(traces.RedactSpans(mem)))
	old := otel.GetTracerProvider()
	otel.SetTracerProvider(tp)
	t.Cleanup(func() { otel.SetTracerProvider(old) })
	f := newFixture(t)
	const secret = "Zq8Lm2Vx7Rt4Np9Kc3"
	res, err := f.srv.CallTool(context.Background(), "trace_note", json.RawMessage(`{"text":"x","kind":"password=`+secret+`"}`))
	require.NoError(t, err)
	require.True(t, res.IsError)
	require.NoError(t, tp.ForceFlush(context.Background()))
	spans := mem.GetSpans()
	require.NotEmpty(t, spans)
	dump, err := json.Marshal(spans)
	require.NoError(t, err)
	assert.NotContains(t, string(dump), secret)
	assert.Contains(t, string(dump), "REDACTED")
}
