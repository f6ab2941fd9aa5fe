package tools_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/factory-dev/factory"
	"github.com/factory-dev/factory/internal/attacktest"
	"github.com/factory-dev/factory/internal/gittest"
	"github.com/factory-dev/factory/tools"
	"github.com/factory-dev/factory/traces"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// logStore is a run log holding the report package's real go test -json
// fixture log as test run t-go, and a diff d-1.
func logStore(t *testing.T) (*traces.Store, []tools.Resource) {
	t.Helper()
	ctx := context.Background()
	store, err := traces.Open(ctx, traces.Config{Path: filepath.Join(t.TempDir(), "factory.db")})
	require.NoError(t, err)
	t.Cleanup(func() { store.Close() })
	raw, err := os.ReadFile(filepath.Join("..", "sandbox", "report", "testdata", "go-fixture.json"))
	require.NoError(t, err)
	log := append([]byte("$ go test -json ./...\n"), raw...)
	require.NoError(t, store.PutBlob(ctx, "t-go", "test-log", log))
	require.NoError(t, store.PutBlob(ctx, "d-1", "diff", []byte(strings.Repeat("+x\n", 1000))))
	return store, tools.Resources(tools.Deps{Store: store})
}

func readRes(t *testing.T, rs []tools.Resource, i int, uri string) (string, error) {
	t.Helper()
	req := mcp.ReadResourceRequest{}
	req.Params.URI = uri
	out, err := rs[i].Handler(context.Background(), req)
	if err != nil {
		return "", err
	}
	require.Len(t, out, 1)
	return out[0].(mcp.TextResourceContents).Text, nil
}

// A test log reads as go test -v text, a window at a time, one test's
// output, or the lines matching a pattern.
func TestTestLogReadsAsText(t *testing.T) {
	_, rs := logStore(t)
	all, err := readRes(t, rs, 1, "factory://tests/t-go/log?limit=5000")
	require.NoError(t, err)
	assert.NotContains(t, all, `"Action"`, "events are rendered, not raw JSON")
	assert.Contains(t, all, "=== RUN   TestAddFails\n")
	assert.Contains(t, all, "--- FAIL: TestAddFails")
	assert.True(t, strings.HasPrefix(all, "$ go test -json ./...\n"))

	whole, err := readRes(t, rs, 0, "factory://blobs/t-go")
	require.NoError(t, err)
	assert.Len(t, strings.SplitAfter(strings.TrimSuffix(whole, "\n"), "\n"), 401, "test_run's log URI reads 400 lines and where the rest is")
	assert.Contains(t, whole, "read on with ?offset=400")

	first, err := readRes(t, rs, 1, "factory://tests/t-go/log?limit=3")
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSuffix(first, "\n"), "\n")
	require.Len(t, lines, 4)
	assert.Regexp(t, `^\[factory: lines 0-3 of \d+; read on with \?offset=3 \(also limit, grep, test\)\]$`, lines[3])
	next, err := readRes(t, rs, 1, "factory://tests/t-go/log?offset=3&limit=2")
	require.NoError(t, err)
	allLines := strings.SplitAfter(all, "\n")
	assert.True(t, strings.HasPrefix(next, allLines[3]+allLines[4]), next)

	one, err := readRes(t, rs, 1, "factory://tests/t-go/log?test=TestAddFails")
	require.NoError(t, err)
	assert.Contains(t, one, "Add(2, 2) = 4, want 5")
	assert.NotContains(t, one, "TestTable")
	assert.NotContains(t, one, "$ go test")

	hits, err := readRes(t, rs, 1, "factory://tests/t-go/log?grep=%5Epanic%3A")
	require.NoError(t, err)
	for _, l := range strings.Split(strings.TrimSuffix(hits, "\n"), "\n") {
		assert.Regexp(t, `^\d+: panic: `, l)
	}
	assert.Contains(t, hits, "assignment to entry in nil map")

	diff, err := readRes(t, rs, 0, "factory://blobs/d-1")
	require.NoError(t, err)
	assert.Equal(t, strings.Repeat("+x\n", 1000), diff, "a diff without a window is whole")
}

// attack: an agent sends a query the reader would choke on (a huge limit, a negative offset, a pattern that does not compile, an unknown parameter, test on a diff) -> EINVALID saying what to send; the run log is unchanged
func TestAttackBadLogQueries(t *testing.T) {
	store, rs := logStore(t)
	_, before, err := store.Blob(context.Background(), "t-go")
	require.NoError(t, err)
	for _, c := range []struct {
		i        int
		uri, say string
	}{
		{1, "factory://tests/t-go/log?limit=99999", "limit"},
		{1, "factory://tests/t-go/log?offset=-1", "offset"},
		{1, "factory://tests/t-go/log?grep=(", "not a Go regular expression"},
		{1, "factory://tests/t-go/log?exec=rm", `unknown parameter "exec"`},
		{0, "factory://blobs/d-1?test=TestX", "only a test run's log has tests"},
		{1, "factory://tests/t-go/log?grep=" + strings.Repeat("a", 300), "at most 200"},
	} {
		_, err := readRes(t, rs, c.i, c.uri)
		assert.Equal(t, factory.EINVALID, factory.ErrorCode(err), c.uri)
		assert.ErrorContains(t, err, c.say, c.uri)
	}
	_, after, err := store.Blob(context.Background(), "t-go")
	require.NoError(t, err)
	assert.Equal(t, before, after)
}

// attack: a suite floods its log (20 MB of one line repeated, and one 3 MB line) so that reading it returns megabytes -> every read is at most maxReadBytes plus a line saying how to read on; the host directory aimed at is untouched
func TestAttackLogFloodReadIsBounded(t *testing.T) {
	ctx := context.Background()
	store, rs := logStore(t)
	dir := t.TempDir()
	before := attacktest.Take(t, dir)
	flood := strings.Repeat("spam spam spam\n", 20<<20/15) + strings.Repeat("x", 3<<20) + "\n"
	require.NoError(t, store.PutBlob(ctx, "t-flood", "test-log", []byte(flood)))
	for _, uri := range []string{"factory://tests/t-flood/log", "factory://tests/t-flood/log?limit=5000", "factory://tests/t-flood/log?grep=x&limit=5000", "factory://tests/t-flood/log?offset=1398100"} {
		text, err := readRes(t, rs, 1, uri)
		require.NoError(t, err)
		assert.LessOrEqual(t, len(text), 256<<10+200, uri)
		assert.Contains(t, text, "[factory: ", uri)
	}
	long, err := readRes(t, rs, 1, "factory://tests/t-flood/log?offset=1398101")
	require.NoError(t, err)
	assert.Contains(t, long, "xxxxxxxx", "a line over the budget is cut, not skipped forever")
	assert.Contains(t, long, "cut at")
	attacktest.Unchanged(t, before, dir)
}

// The case through the tool: a package whose first test panics.
// test_run names the crashed test and reports every later test; its log
// reads as text, one test at a time.
func TestTestRunReportsTestsACrashHid(t *testing.T) {
	e := newEnv(t)
	write(t, e.dir, "factory.yaml", "version: 1\nsuites:\n  unit: {run: [go, test, -json, -count=1, ./...], format: go-json}\n")
	write(t, e.dir, "go.mod", "module example.com/m\n\ngo 1.22\n")
	require.NoError(t, os.MkdirAll(filepath.Join(e.dir, "p"), 0o755))
	write(t, e.dir, "p/p_test.go", `package p

import "testing"

func TestBoom(t *testing.T) { panic("first test panics") }
func TestLater(t *testing.T) { t.Error("later failure: want 1") }
func TestFine(t *testing.T) {}
`)
	gittest.Run(t, e.dir, "add", "-A")
	gittest.Run(t, e.dir, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "go suite")
	out, msg := e.call(t, "test_run", map[string]any{"reruns": -1})
	require.Empty(t, msg)
	assert.Equal(t, "fail", out["status"])
	assert.Equal(t, map[string]any{"total": 3.0, "passed": 1.0, "failed": 2.0, "skipped": 0.0}, out["counts"])
	fails, _ := out["failures"].([]any)
	require.Len(t, fails, 2, "%v", out)
	boom := fails[0].(map[string]any)
	assert.Equal(t, "TestBoom", boom["name"])
	assert.Equal(t, true, boom["crashed"])
	assert.Contains(t, boom["message"], "panic: first test panics")
	assert.Equal(t, "TestLater", fails[1].(map[string]any)["name"])

	rs := tools.Resources(tools.Deps{Store: e.store})
	text, err := readRes(t, rs, 1, "factory://tests/"+out["id"].(string)+"/log?test=TestLater")
	require.NoError(t, err)
	assert.Contains(t, text, "later failure: want 1")
	assert.Contains(t, text, "=== factory: rerun of example.com/m/p without the tests that crashed it ===")
	assert.NotContains(t, text, "first test panics")
}
