package server_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/factory-dev/factory/server"
	"github.com/factory-dev/factory/tools"
	"github.com/factory-dev/factory/traces"
	"github.com/mark3labs/mcp-go/mcp"
	mcpserver "github.com/mark3labs/mcp-go/server"
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

// callN sends n tools/call messages through HandleMessage in one session.
func callN(b *testing.B, s *mcpserver.MCPServer) {
	ctx := context.Background()
	sess := mcpserver.NewInProcessSession("bench", nil)
	if err := s.RegisterSession(ctx, sess); err != nil {
		b.Fatal(err)
	}
	ctx = s.WithContext(ctx, sess)
	init := []byte(`{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"bench","version":"1"}}}`)
	s.HandleMessage(ctx, init)
	msg := []byte(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":"hello"}}}`)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		resp := s.HandleMessage(ctx, msg)
		if _, ok := resp.(mcp.JSONRPCResponse); !ok {
			b.Fatalf("unexpected reply %#v", resp)
		}
	}
}

// BenchmarkCallOverhead compares a trivial tool served by a bare mcp-go
// server with the same tool behind factory's middleware (a step written to
// a real SQLite run log, a span, a histogram point), in the same run. The
// ratio-vs-bare metric is factory's time per call over the bare one.
func BenchmarkCallOverhead(b *testing.B) {
	var bare, ours float64
	b.Run("bare", func(b *testing.B) {
		s := mcpserver.NewMCPServer("bare", "1", mcpserver.WithToolCapabilities(false),
			mcpserver.WithInputSchemaValidation(), mcpserver.WithOutputSchemaValidation())
		t := trivialTool()
		s.AddTool(t.Def, t.Handler)
		callN(b, s)
		bare = float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	})
	b.Run("factory", func(b *testing.B) {
		store, err := traces.Open(context.Background(), traces.Config{Path: filepath.Join(b.TempDir(), "factory.db")})
		if err != nil {
			b.Fatal(err)
		}
		defer store.Close()
		srv := server.New(server.Config{Store: store, Version: "bench"})
		srv.Register([]tools.Tool{trivialTool()})
		callN(b, srv.MCP())
		ours = float64(b.Elapsed().Nanoseconds()) / float64(b.N)
		if bare > 0 {
			b.ReportMetric(ours/bare, "ratio-vs-bare")
			b.ReportMetric((ours-bare)/1e3, "µs-overhead/call")
		}
	})
}
