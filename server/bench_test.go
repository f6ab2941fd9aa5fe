package server_test

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"path/filepath"
	"testing"
	"time"

	"github.com/factory-dev/factory/server"
	"github.com/factory-dev/factory/tools"
	"github.com/factory-dev/factory/traces"
	"github.com/mark3labs/mcp-go/mcp"
	mcpserver "github.com/mark3labs/mcp-go/server"
	"go.opentelemetry.io/otel"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

func trivialTool() tools.Tool {
	return tools.Tool{Toolset: tools.SetTrace,
		Def: mcp.NewTool("echo", mcp.WithInputSchema[echoArgs](), mcp.WithOutputSchema[echoResult]()),
		Handler: func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			var a echoArgs
			_ = req.BindArguments(&a)
			return mcp.NewToolResultStructuredOnly(echoResult{Text: a.Text}), nil
		}}
}

// session makes an initialised in-process session on s and returns the
// context to send messages with.
func session(b *testing.B, s *mcpserver.MCPServer, id string) context.Context {
	ctx := context.Background()
	sess := mcpserver.NewInProcessSession(id, nil)
	if err := s.RegisterSession(ctx, sess); err != nil {
		b.Fatal(err)
	}
	ctx = s.WithContext(ctx, sess)
	s.HandleMessage(ctx, []byte(`{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"bench","version":"1"}}}`))
	return ctx
}

var callMsg = []byte(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":"hello"}}}`)

func call(b *testing.B, ctx context.Context, s *mcpserver.MCPServer) time.Duration {
	start := time.Now()
	resp := s.HandleMessage(ctx, callMsg)
	d := time.Since(start)
	if _, ok := resp.(mcp.JSONRPCResponse); !ok {
		b.Fatalf("unexpected reply %#v", resp)
	}
	return d
}

// callPairs is the number of calls to each server per iteration, so that
// make bench (-benchtime 1x) measures too.
const callPairs = 20000

// warmPairs is the number of untimed pairs before the timed ones.
const warmPairs = 2000

// BenchmarkCallOverhead compares a trivial tool served by a bare mcp-go
// server (same schema validation) with the same tool behind factory's
// middleware (a step made durable in the run log; a span and a histogram
// point when OpenTelemetry is set up, which it is not here). Calls to the
// two alternate, and which goes first alternates too, so machine load hits
// both alike; ratio-vs-bare is factory's total time over the bare
// server's. The run log ingests in the background as it does when served.
func BenchmarkCallOverhead(b *testing.B) {
	b.Run("runlog", func(b *testing.B) { callOverhead(b) })
	// The same with OpenTelemetry's SDK installed (no exporter): what a
	// served call costs when spans and the histogram are on.
	b.Run("runlog+otel", func(b *testing.B) {
		tp, mp := otel.GetTracerProvider(), otel.GetMeterProvider()
		otel.SetTracerProvider(sdktrace.NewTracerProvider())
		otel.SetMeterProvider(sdkmetric.NewMeterProvider())
		defer func() { otel.SetTracerProvider(tp); otel.SetMeterProvider(mp) }()
		callOverhead(b)
	})
}

// benchServers makes the two servers compared: a bare mcp-go server with
// the trivial tool and the same schema validation, and factory's server
// with the same tool, recording into a run log of its own.
func benchServers(b *testing.B) (*mcpserver.MCPServer, *server.Server) {
	bare := mcpserver.NewMCPServer("bare", "1", mcpserver.WithToolCapabilities(false),
		mcpserver.WithInputSchemaValidation(), mcpserver.WithOutputSchemaValidation())
	t := trivialTool()
	bare.AddTool(t.Def, t.Handler)
	store, err := traces.Open(context.Background(), traces.Config{Path: filepath.Join(b.TempDir(), "factory.db")})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { store.Close() })
	srv := server.New(server.Config{Store: store, Version: "bench"})
	srv.Register([]tools.Tool{trivialTool()})
	return bare, srv
}

// interleave times callPairs calls of each kind per iteration, alternating
// which goes first, and reports both means and their ratio. A warm-up of
// warmPairs untimed pairs comes first: at -benchtime 1x nothing else warms
// up the servers (mcp-go's schema cache, the run's creation, the run log's
// first pages and journal segment), and the first run of a series came
// out a few percent above the next ones.
func interleave(b *testing.B, bare, factory func() time.Duration) {
	for range warmPairs {
		bare()
		factory()
	}
	var tb, tf time.Duration
	b.ResetTimer()
	for i := 0; i < b.N*callPairs; i++ {
		if i%2 == 0 {
			tb += bare()
			tf += factory()
		} else {
			tf += factory()
			tb += bare()
		}
	}
	b.ReportMetric(float64(tb.Nanoseconds())/float64(b.N*callPairs), "bare-ns/call")
	b.ReportMetric(float64(tf.Nanoseconds())/float64(b.N*callPairs), "factory-ns/call")
	b.ReportMetric(float64(tf)/float64(tb), "ratio-vs-bare")
}

func callOverhead(b *testing.B) {
	bare, srv := benchServers(b)
	bctx, fctx := session(b, bare, "bare"), session(b, srv.MCP(), "factory")
	interleave(b, func() time.Duration { return call(b, bctx, bare) }, func() time.Duration { return call(b, fctx, srv.MCP()) })
}

// stdioPeer is a client of a server listening on in-memory pipes, as a
// client process is on stdin and stdout.
type stdioPeer struct {
	w io.Writer
	r *bufio.Reader
}

func startStdioPeer(b *testing.B, listen func(ctx context.Context, in io.Reader, out io.Writer) error) *stdioPeer {
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = listen(ctx, inR, outW)
	}()
	b.Cleanup(func() {
		cancel()
		inW.Close()
		outR.Close()
		<-done
	})
	p := &stdioPeer{w: inW, r: bufio.NewReader(outR)}
	p.roundTrip(b, []byte(`{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"bench","version":"1"}}}`+"\n"))
	if _, err := p.w.Write([]byte(`{"jsonrpc":"2.0","method":"notifications/initialized"}` + "\n")); err != nil {
		b.Fatal(err)
	}
	return p
}

func (p *stdioPeer) roundTrip(b *testing.B, line []byte) time.Duration {
	start := time.Now()
	if _, err := p.w.Write(line); err != nil {
		b.Fatal(err)
	}
	reply, err := p.r.ReadBytes('\n')
	d := time.Since(start)
	if err != nil || !bytes.Contains(reply, []byte(`"result"`)) {
		b.Fatalf("reply %q, %v", reply, err)
	}
	return d
}

// BenchmarkCallOverheadStdio is BenchmarkCallOverhead over the stdio
// transport, as Claude Code runs factory: a JSON line in, a JSON line out,
// through each server's worker pool (mcp-go's default for the bare one,
// factory's own for factory).
func BenchmarkCallOverheadStdio(b *testing.B) {
	bare, srv := benchServers(b)
	bp := startStdioPeer(b, func(ctx context.Context, in io.Reader, out io.Writer) error {
		return mcpserver.NewStdioServer(bare).Listen(ctx, in, out)
	})
	fp := startStdioPeer(b, srv.ServeStdio)
	line := append(bytes.Clone(callMsg), '\n')
	interleave(b, func() time.Duration { return bp.roundTrip(b, line) }, func() time.Duration { return fp.roundTrip(b, line) })
}
