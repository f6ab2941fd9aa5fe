package tools

import (
	"context"
	"sync"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

// progress sends one call's notifications/progress, when the client asked
// for them with a progress token. The value only grows, as the protocol
// requires, whatever mix of phases and test counts reports it: a client
// that resets its timeout on progress then sees a long gate move.
type progress struct {
	srv   *server.MCPServer
	token mcp.ProgressToken

	mu   sync.Mutex
	last float64
}

type progressKey struct{}

// WithProgress puts the call's progress reporter in ctx, for Phase and
// test_run to report to; without a token or a server (factory call) there
// is none, and reports do nothing. The server's tool middleware calls it.
func WithProgress(ctx context.Context, req mcp.CallToolRequest) context.Context {
	srv := server.ServerFromContext(ctx)
	if srv == nil || req.Params.Meta == nil || req.Params.Meta.ProgressToken == nil {
		return ctx
	}
	return context.WithValue(ctx, progressKey{}, &progress{srv: srv, token: req.Params.Meta.ProgressToken})
}

// report sends progress value (of total, when above zero) with msg. A
// value not above the last one sent is sent as the next step instead (a
// final count equal to the last running count).
func (p *progress) report(ctx context.Context, value, total float64, msg string) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if value <= p.last {
		value = p.last + 1
	}
	p.last = value
	params := map[string]any{"progressToken": p.token, "progress": value, "message": msg}
	if total > 0 {
		// The end of the work: progress reaches total, even when the
		// value had to grow past it.
		params["total"] = max(total, value)
	}
	_ = p.srv.SendNotificationToClient(ctx, string(mcp.MethodNotificationProgress), params)
}

func progressFrom(ctx context.Context) *progress {
	p, _ := ctx.Value(progressKey{}).(*progress)
	return p
}

// Phase tells the client of the call in ctx that a phase of it begins
// (the gate's isolate, apply, each gate, promote): a progress
// notification, when the client asked for progress, and an info log
// message. server.ChildSteps calls it at each phase it records.
func Phase(ctx context.Context, name string) {
	progressFrom(ctx).report(ctx, 0, 0, name)
	if req, ok := requestFrom(ctx); ok {
		name = req.Params.Name + ": " + name
	}
	LogToClient(ctx, mcp.LoggingLevelInfo, name)
}

// LogToClient sends a notifications/message to the client of the request
// in ctx, if its level is at or above the one the client set
// (logging/setLevel; default error) or declared on the request (the
// 2026-07-28 revision). Outside a served request it does nothing.
func LogToClient(ctx context.Context, level mcp.LoggingLevel, msg string) {
	srv := server.ServerFromContext(ctx)
	if srv == nil {
		return
	}
	_ = srv.SendLogMessageToClient(ctx, mcp.NewLoggingMessageNotification(level, "factory", msg))
}

// testProgress is the sandbox's test-run progress callback for the call in
// ctx: finished tests so far, then the final counts.
func testProgress(ctx context.Context) func(done, total int, msg string) {
	p := progressFrom(ctx)
	if p == nil {
		return nil
	}
	return func(done, total int, msg string) {
		p.report(ctx, float64(done), float64(total), msg)
	}
}
