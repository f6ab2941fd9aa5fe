package server_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/factory-dev/factory"
	"github.com/factory-dev/factory/server"
	"github.com/factory-dev/factory/tools"
	"github.com/factory-dev/factory/traces"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// fixture is a server with the trace tools plus three test tools (echo,
// fail, panic, sleep), over a real SQLite run log.
type fixture struct {
	store *traces.Store
	srv   *server.Server
}

type echoArgs struct {
	Text string `json:"text"`
	MS   int    `json:"ms,omitempty"`
}

type echoResult struct {
	Text string `json:"text"`
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	ctx := context.Background()
	store, err := traces.Open(ctx, traces.Config{Path: filepath.Join(t.TempDir(), "factory.db")})
	require.NoError(t, err)
	t.Cleanup(func() { store.Close() })
	srv := server.New(server.Config{Store: store, Root: "/work", Version: "test", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	ts := tools.New(tools.Deps{Store: store, Runs: srv.Runs()})
	ts = append(ts, testTools()...)
	srv.Register(ts)
	return &fixture{store: store, srv: srv}
}

func testTools() []tools.Tool {
	mk := func(name string, h func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error)) tools.Tool {
		return tools.Tool{Toolset: tools.SetTrace, Def: mcp.NewTool(name, mcp.WithInputSchema[echoArgs](), mcp.WithOutputSchema[echoResult]()), Handler: h}
	}
	return []tools.Tool{
		mk("echo", func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			var a echoArgs
			_ = req.BindArguments(&a)
			if a.MS > 0 {
				select {
				case <-time.After(time.Duration(a.MS) * time.Millisecond):
				case <-ctx.Done():
					return nil, ctx.Err()
				}
			}
			return mcp.NewToolResultStructuredOnly(echoResult{Text: a.Text}), nil
		}),
		mk("fail", func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return mcp.NewToolResultError("the thing you asked for does not exist; try another"), nil
		}),
		mk("boom", func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			panic("kaboom")
		}),
	}
}

func (f *fixture) steps(t testing.TB) []factory.Step {
	t.Helper()
	p, err := f.store.Query(context.Background(), traces.Query{Limit: 100})
	require.NoError(t, err)
	return p.Steps
}

// stdioClient speaks newline-delimited JSON-RPC to ServeStdio over pipes.
type stdioClient struct {
	in   *io.PipeWriter
	out  *bufio.Scanner
	mu   sync.Mutex
	done chan error
}

func startStdio(t *testing.T, f *fixture) *stdioClient {
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	c := &stdioClient{in: inW, out: bufio.NewScanner(outR), done: make(chan error, 1)}
	c.out.Buffer(make([]byte, 1<<20), 1<<20)
	go func() { c.done <- f.srv.ServeStdio(ctx, inR, outW); outW.Close() }()
	t.Cleanup(func() { inW.Close(); cancel() })
	c.send(t, `{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"unit","version":"1"}}}`)
	c.recv(t)
	c.send(t, `{"jsonrpc":"2.0","method":"notifications/initialized"}`)
	return c
}

func (c *stdioClient) send(t testing.TB, line string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, err := io.WriteString(c.in, line+"\n")
	require.NoError(t, err)
}

func (c *stdioClient) recv(t testing.TB) map[string]any {
	require.True(t, c.out.Scan(), "no reply")
	var m map[string]any
	require.NoError(t, json.Unmarshal(c.out.Bytes(), &m), c.out.Text())
	return m
}

func callLine(id int, tool string, args any) string {
	b, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": map[string]any{"name": tool, "arguments": args}})
	return string(b)
}

func TestEveryCallBecomesAStepWithItsStatus(t *testing.T) {
	f := newFixture(t)
	c := startStdio(t, f)

	c.send(t, callLine(1, "echo", map[string]any{"text": "hello; key sk-ant-api03-SECRETSECRETSECRETSECRET"}))
	c.recv(t)
	c.send(t, callLine(2, "fail", map[string]any{"text": "x"}))
	r := c.recv(t)
	assert.Equal(t, true, r["result"].(map[string]any)["isError"])
	c.send(t, callLine(3, "boom", map[string]any{"text": "x"}))
	r = c.recv(t)
	require.NotNil(t, r["error"], "a panic is a protocol error: %v", r)
	assert.NotContains(t, fmt.Sprint(r["error"]), "kaboom", "panic details stay in the log")

	steps := f.steps(t)
	require.Len(t, steps, 3)
	byTool := map[string]factory.Step{}
	for _, s := range steps {
		byTool[s.Tool] = s
	}
	assert.Equal(t, factory.StepOK, byTool["echo"].Status)
	assert.Equal(t, "1", byTool["echo"].RequestID)
	assert.Equal(t, "tools/call", byTool["echo"].Method)
	assert.Contains(t, byTool["echo"].Result, "hello")
	assert.NotContains(t, byTool["echo"].Args, "SECRETSECRET", "arguments are redacted before storage")
	assert.Equal(t, factory.StepToolError, byTool["fail"].Status)
	assert.Contains(t, byTool["fail"].Error, "does not exist")
	assert.Equal(t, factory.StepError, byTool["boom"].Status)
	assert.Equal(t, byTool["echo"].RunID, byTool["boom"].RunID, "one run per connection")
	assert.NotEmpty(t, byTool["echo"].RunID)
}

func TestALongCallDoesNotBlockAShortOne(t *testing.T) {
	f := newFixture(t)
	c := startStdio(t, f)
	c.send(t, callLine(1, "echo", map[string]any{"text": "slow", "ms": 3000}))
	c.send(t, callLine(2, "echo", map[string]any{"text": "fast"}))
	first := c.recv(t)
	assert.EqualValues(t, 2, first["id"], "the short call answers first")
	second := c.recv(t)
	assert.EqualValues(t, 1, second["id"])
}

func TestRunStartBeginsANewNamedRun(t *testing.T) {
	f := newFixture(t)
	c := startStdio(t, f)
	c.send(t, callLine(1, "echo", map[string]any{"text": "a"}))
	c.recv(t)
	c.send(t, callLine(2, "run_start", map[string]any{"name": "fix the parser", "workflow": "investigate"}))
	r := c.recv(t)
	run := r["result"].(map[string]any)["structuredContent"].(map[string]any)["run"].(map[string]any)
	c.send(t, callLine(3, "echo", map[string]any{"text": "b"}))
	c.recv(t)

	got, steps, _, err := f.store.Run(context.Background(), run["id"].(string))
	require.NoError(t, err)
	assert.Equal(t, "fix the parser", got.Name)
	assert.Equal(t, "investigate", got.Workflow)
	assert.Equal(t, "unit 1", got.Client)
	var names []string
	for _, s := range steps {
		names = append(names, s.Tool)
	}
	assert.ElementsMatch(t, []string{"run_start", "echo"}, names, "run_start's own step and later ones belong to the new run")
}

func TestSpansFollowTheSemanticConventionsAndTheCallersTraceparent(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	prev := otel.GetTracerProvider()
	otel.SetTracerProvider(tp)
	t.Cleanup(func() { otel.SetTracerProvider(prev) })

	f := newFixture(t)
	c := startStdio(t, f)
	parent := "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	b, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": map[string]any{
		"name": "fail", "arguments": map[string]any{"text": "x"}, "_meta": map[string]any{"traceparent": parent},
	}})
	c.send(t, string(b))
	c.recv(t)

	var span *tracetest.SpanStub
	for _, s := range exp.GetSpans() {
		if s.Name == "tools/call fail" {
			span = &s
		}
	}
	require.NotNil(t, span, "spans: %v", exp.GetSpans())
	assert.Equal(t, "4bf92f3577b34da6a3ce929d0e0e4736", span.SpanContext.TraceID().String())
	assert.Equal(t, "00f067aa0ba902b7", span.Parent.SpanID().String())
	attrs := map[string]string{}
	for _, a := range span.Attributes {
		attrs[string(a.Key)] = a.Value.Emit()
	}
	assert.Equal(t, "tools/call", attrs["mcp.method.name"])
	assert.Equal(t, "fail", attrs["gen_ai.tool.name"])
	assert.Equal(t, "execute_tool", attrs["gen_ai.operation.name"])
	assert.Equal(t, "tool_error", attrs["error.type"])

	steps := f.steps(t)
	require.Len(t, steps, 1)
	assert.Equal(t, "4bf92f3577b34da6a3ce929d0e0e4736", steps[0].TraceID, "the step links to its trace")
}

// Without OpenTelemetry set up no span is made, yet a step still links to
// the trace of a caller that sent a traceparent, and spans start as soon
// as a provider is installed.
func TestStepLinksToTheCallersTraceWithoutTracing(t *testing.T) {
	f := newFixture(t)
	c := startStdio(t, f)
	call := func(id int, parent string) {
		b, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": map[string]any{
			"name": "echo", "arguments": map[string]any{"text": "x"}, "_meta": map[string]any{"traceparent": parent},
		}})
		c.send(t, string(b))
		c.recv(t)
	}
	call(1, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")

	exp := tracetest.NewInMemoryExporter()
	prev := otel.GetTracerProvider()
	otel.SetTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp)))
	t.Cleanup(func() { otel.SetTracerProvider(prev) })
	call(2, "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")

	steps := f.steps(t)
	require.Len(t, steps, 2)
	byReq := map[string]factory.Step{}
	for _, s := range steps {
		byReq[s.RequestID] = s
	}
	assert.Equal(t, "4bf92f3577b34da6a3ce929d0e0e4736", byReq["1"].TraceID)
	assert.Equal(t, "00f067aa0ba902b7", byReq["1"].SpanID, "no span of its own: the caller's")
	assert.Equal(t, "0af7651916cd43dd8448eb211c80319c", byReq["2"].TraceID)
	require.Len(t, exp.GetSpans(), 1, "a span once a provider is installed")
	assert.Equal(t, exp.GetSpans()[0].SpanContext.SpanID().String(), byReq["2"].SpanID)
}

// httpFixture serves the HTTP handler on a real loopback listener.
func httpFixture(t *testing.T, f *fixture) (url string, bound string) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	bound = ln.Addr().String()
	h := f.srv.HTTPHandler(server.HTTPConfig{Addr: bound, Token: "tok", MaxBody: 64 << 10}, bound)
	hs := &http.Server{Handler: h}
	go hs.Serve(ln)
	t.Cleanup(func() { hs.Close() })
	return "http://" + bound + "/mcp", bound
}

func post(t *testing.T, url string, hdr map[string]string, body string) *http.Response {
	req, err := http.NewRequest("POST", url, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	for k, v := range hdr {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func TestHTTPSafetyChecksRefuseBeforeAnythingIsRecorded(t *testing.T) {
	f := newFixture(t)
	url, bound := httpFixture(t, f)
	_, port, _ := net.SplitHostPort(bound)
	call := callLine(1, "echo", map[string]any{"text": "x"})
	auth := map[string]string{"Authorization": "Bearer tok"}
	with := func(extra map[string]string) map[string]string {
		m := map[string]string{"Authorization": "Bearer tok"}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}

	assert.Equal(t, 401, post(t, url, nil, call).StatusCode)
	assert.Equal(t, 401, post(t, url, map[string]string{"Authorization": "Bearer nope"}, call).StatusCode)
	assert.Equal(t, 403, post(t, url, with(map[string]string{"Origin": "https://evil.example"}), call).StatusCode)
	assert.Equal(t, 403, post(t, url, with(map[string]string{"Origin": "null"}), call).StatusCode)
	assert.Equal(t, 421, post(t, url, with(map[string]string{"Host": "evil.example:" + port}), call).StatusCode)
	assert.Equal(t, 421, post(t, url, with(map[string]string{"Host": "127.0.0.1:1"}), call).StatusCode)
	assert.Equal(t, 413, post(t, url, auth, `{"pad":"`+strings.Repeat("x", 70<<10)+`"}`).StatusCode)
	assert.Empty(t, f.steps(t), "refused requests are not steps")

	init := `{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"h","version":"1"}}}`
	resp := post(t, url, with(map[string]string{"Origin": "http://localhost:5173", "Host": "localhost:" + port}), init)
	assert.Equal(t, 200, resp.StatusCode, "a loopback origin and a localhost Host name this server")
}

func TestHTTPServesBothProtocolEras(t *testing.T) {
	f := newFixture(t)
	url, _ := httpFixture(t, f)
	auth := map[string]string{"Authorization": "Bearer tok"}

	// 2025-11-25: initialize, then a session id on every request.
	init := `{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"legacy","version":"1"}}}`
	resp := post(t, url, auth, init)
	require.Equal(t, 200, resp.StatusCode)
	sid := resp.Header.Get("Mcp-Session-Id")
	require.NotEmpty(t, sid)
	resp = post(t, url, map[string]string{"Authorization": "Bearer tok", "Mcp-Session-Id": sid, "MCP-Protocol-Version": "2025-11-25"},
		callLine(1, "echo", map[string]any{"text": "legacy era"}))
	body, _ := io.ReadAll(resp.Body)
	require.Equal(t, 200, resp.StatusCode, string(body))
	assert.Contains(t, string(body), "legacy era")

	// 2026-07-28: no initialize, no session; everything in _meta and headers.
	modern, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": map[string]any{
		"name": "echo", "arguments": map[string]any{"text": "modern era"},
		"_meta": map[string]any{
			"io.modelcontextprotocol/protocolVersion":    "2026-07-28",
			"io.modelcontextprotocol/clientInfo":         map[string]any{"name": "modern", "version": "2"},
			"io.modelcontextprotocol/clientCapabilities": map[string]any{},
		},
	}})
	resp = post(t, url, map[string]string{"Authorization": "Bearer tok", "MCP-Protocol-Version": "2026-07-28", "Mcp-Method": "tools/call", "Mcp-Name": "echo"}, string(modern))
	body, _ = io.ReadAll(resp.Body)
	require.Equal(t, 200, resp.StatusCode, string(body))
	assert.Contains(t, string(body), "modern era")
	assert.Empty(t, resp.Header.Get("Mcp-Session-Id"), "the stateless era mints no session")

	steps := f.steps(t)
	require.Len(t, steps, 2)
	runs, err := f.store.Runs(context.Background(), 10)
	require.NoError(t, err)
	clients := map[string]bool{}
	for _, r := range runs {
		clients[r.Client] = true
	}
	assert.True(t, clients["legacy 1"] && clients["modern 2"], "each era's client gets its run: %v", clients)
}

func TestNonLoopbackBindNeedsAnExplicitToken(t *testing.T) {
	f := newFixture(t)
	err := f.srv.ServeHTTP(context.Background(), server.HTTPConfig{Addr: "0.0.0.0:0", Token: server.GenerateToken()}, nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "FACTORY_TOKEN")
}

func TestCallToolInProcessIsRecordedAsACLIRun(t *testing.T) {
	f := newFixture(t)
	res, err := f.srv.CallTool(context.Background(), "echo", json.RawMessage(`{"text":"in process"}`))
	require.NoError(t, err)
	assert.False(t, res.IsError)
	assert.Equal(t, map[string]any{"text": "in process"}, toMap(t, res.Structured))
	steps := f.steps(t)
	require.Len(t, steps, 1)
	r, _, _, err := f.store.Run(context.Background(), steps[0].RunID)
	require.NoError(t, err)
	assert.Equal(t, "factory call", r.Client)
	assert.False(t, r.Ended.IsZero(), "the run ends with the call")

	_, err = f.srv.CallTool(context.Background(), "nope", nil)
	assert.Equal(t, factory.ENOTFOUND, factory.ErrorCode(err))

	res, err = f.srv.CallTool(context.Background(), "fail", json.RawMessage(`{"text":"x"}`))
	require.NoError(t, err, "a tool error is a result, not an error")
	assert.True(t, res.IsError)
	assert.Nil(t, res.Structured)
	assert.Contains(t, res.Text[0], "does not exist")
}

func toMap(t *testing.T, v any) map[string]any {
	b, err := json.Marshal(v)
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(b, &m))
	return m
}
