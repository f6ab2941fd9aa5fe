package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"time"

	"github.com/factory-dev/factory"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// StepStore is the part of the run log the middleware writes.
type StepStore interface {
	RunStore
	RecordStep(ctx context.Context, st factory.Step) (factory.Step, error)
}

// requestIDHeader carries the JSON-RPC id from the before-hooks (which see
// it) to the middleware (which does not).
const requestIDHeader = "X-Factory-Request-Id"

// recorder turns requests into steps and spans.
type recorder struct {
	store    StepStore
	runs     *runTracker
	log      *slog.Logger
	tracer   trace.Tracer
	duration metric.Float64Histogram
}

func newRecorder(store StepStore, runs *runTracker, log *slog.Logger) *recorder {
	meter := otel.Meter("github.com/factory-dev/factory/server")
	hist, err := meter.Float64Histogram("mcp.server.operation.duration",
		metric.WithUnit("s"),
		metric.WithDescription("Duration of MCP requests served by factory"),
		metric.WithExplicitBucketBoundaries(0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 60, 300))
	if err != nil {
		log.Warn("no duration histogram", "err", err)
	}
	return &recorder{
		store:    store,
		runs:     runs,
		log:      log,
		tracer:   otel.Tracer("github.com/factory-dev/factory/server"),
		duration: hist,
	}
}

// request is what the recorder needs to know of any request.
type request struct {
	method string // tools/call, resources/read, prompts/get
	name   string // tool name, resource URI, prompt name
	id     string
	args   any
	meta   *mcp.Meta
}

// outcome is what the recorder learns from the handler.
type outcome struct {
	summary   string
	toolError bool
	errText   string
	err       error
}

// around runs fn as one step of the connection's run, inside a span.
func (r *recorder) around(ctx context.Context, req request, fn func(context.Context) outcome) (out outcome) {
	start := time.Now()
	runID, err := r.runs.current(ctx)
	if err != nil {
		r.log.Error("cannot start a run; the request is served but not recorded", "err", err)
	}
	stepID := newID("st-")
	ctx = factory.WithCall(ctx, factory.Call{RunID: runID, StepID: stepID})
	ctx = extractTraceparent(ctx, req.meta)

	spanName := req.method
	if req.name != "" {
		spanName += " " + req.name
	}
	attrs := []attribute.KeyValue{attribute.String("mcp.method.name", req.method)}
	if req.method == string(mcp.MethodToolsCall) {
		attrs = append(attrs,
			attribute.String("gen_ai.tool.name", req.name),
			attribute.String("gen_ai.operation.name", "execute_tool"))
	} else if req.method == string(mcp.MethodResourcesRead) {
		attrs = append(attrs, attribute.String("mcp.resource.uri", req.name))
	} else {
		attrs = append(attrs, attribute.String("gen_ai.prompt.name", req.name))
	}
	if req.id != "" {
		attrs = append(attrs, attribute.String("jsonrpc.request.id", req.id))
	}
	attrs = append(attrs, attribute.String("factory.run.id", runID), attribute.String("factory.step.id", stepID))
	ctx, span := r.tracer.Start(ctx, spanName, trace.WithSpanKind(trace.SpanKindServer), trace.WithAttributes(attrs...))

	func() {
		defer func() {
			if p := recover(); p != nil {
				id := newID("e-")
				r.log.Error("panic in handler", "method", req.method, "name", req.name, "error_id", id, "panic", p, "stack", string(debug.Stack()))
				out = outcome{err: fmt.Errorf("internal error %s in %s; the server log has the details", id, req.name)}
			}
		}()
		out = fn(ctx)
	}()

	status := factory.StepOK
	errType := ""
	switch {
	case out.err != nil && (errors.Is(out.err, context.Canceled) || ctx.Err() != nil):
		status, errType = factory.StepCancelled, "cancelled"
		out.errText = out.err.Error()
	case out.err != nil:
		status, errType = factory.StepError, "error"
		out.errText = out.err.Error()
	case out.toolError:
		status, errType = factory.StepToolError, "tool_error"
	}
	elapsed := time.Since(start)
	// A step belongs to the run that is current when it ends: run_start's
	// own step opens the run it starts.
	if now := r.runs.peek(ctx); now != "" {
		runID = now
	}

	if errType != "" {
		span.SetAttributes(attribute.String("error.type", errType))
		span.SetStatus(codes.Error, out.errText)
	}
	sc := span.SpanContext()
	args := argsJSON(req.args)
	if runID != "" {
		if _, err := r.store.RecordStep(context.WithoutCancel(ctx), factory.Step{
			ID: stepID, RunID: runID, RequestID: req.id, Method: req.method, Tool: req.name,
			Args: args, Result: out.summary, Status: status, Error: out.errText,
			Started: start, Duration: elapsed, TraceID: traceID(sc), SpanID: spanID(sc),
		}); err != nil {
			r.log.Error("cannot record step", "step", stepID, "err", err)
		}
	}
	span.End()
	if r.duration != nil {
		mattrs := []attribute.KeyValue{attribute.String("mcp.method.name", req.method)}
		if errType != "" {
			mattrs = append(mattrs, attribute.String("error.type", errType))
		}
		if req.method == string(mcp.MethodToolsCall) {
			mattrs = append(mattrs, attribute.String("gen_ai.tool.name", req.name))
		}
		r.duration.Record(context.WithoutCancel(ctx), elapsed.Seconds(), metric.WithAttributes(mattrs...))
	}
	return out
}

// argsJSON is the request's arguments as JSON text: raw arguments as they
// came (no re-encoding on the hot path), anything else marshalled.
func argsJSON(v any) string {
	switch a := v.(type) {
	case nil:
		return ""
	case json.RawMessage:
		return string(a)
	case []byte:
		return string(a)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func traceID(sc trace.SpanContext) string {
	if !sc.HasTraceID() {
		return ""
	}
	return sc.TraceID().String()
}

func spanID(sc trace.SpanContext) string {
	if !sc.HasSpanID() {
		return ""
	}
	return sc.SpanID().String()
}

// extractTraceparent honours a W3C trace context sent in params._meta.
func extractTraceparent(ctx context.Context, meta *mcp.Meta) context.Context {
	if meta == nil || meta.AdditionalFields == nil {
		return ctx
	}
	carrier := propagation.MapCarrier{}
	for _, k := range []string{"traceparent", "tracestate"} {
		if v, ok := meta.AdditionalFields[k].(string); ok {
			carrier[k] = v
		}
	}
	if len(carrier) == 0 {
		return ctx
	}
	return propagation.TraceContext{}.Extract(ctx, carrier)
}

// record serves one request as a step: req says what it is, call serves
// it, judge reads its answer. The three middlewares differ only in those.
func record[Res any](ctx context.Context, r *recorder, req request, call func(context.Context) (Res, error), judge func(Res) outcome) (Res, error) {
	var res Res
	out := r.around(ctx, req, func(ctx context.Context) outcome {
		var err error
		if res, err = call(ctx); err != nil {
			return outcome{err: err}
		}
		return judge(res)
	})
	if out.err != nil {
		var zero Res
		return zero, out.err
	}
	return res, nil
}

// toolMiddleware records every tools/call.
func (r *recorder) toolMiddleware(next server.ToolHandlerFunc) server.ToolHandlerFunc {
	return func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		return record(ctx, r, request{
			method: string(mcp.MethodToolsCall), name: req.Params.Name, id: req.Header.Get(requestIDHeader),
			args: req.GetRawArguments(), meta: req.Params.Meta,
		}, func(ctx context.Context) (*mcp.CallToolResult, error) { return next(ctx, req) },
			func(res *mcp.CallToolResult) outcome {
				return outcome{summary: summarize(res), toolError: res != nil && res.IsError, errText: errorText(res)}
			})
	}
}

// resourceMiddleware records every resources/read.
func (r *recorder) resourceMiddleware(next server.ResourceHandlerFunc) server.ResourceHandlerFunc {
	return func(ctx context.Context, req mcp.ReadResourceRequest) ([]mcp.ResourceContents, error) {
		return record(ctx, r, request{
			method: string(mcp.MethodResourcesRead), name: req.Params.URI, id: req.Header.Get(requestIDHeader),
			args: req.Params.Arguments, meta: req.Params.Meta,
		}, func(ctx context.Context) ([]mcp.ResourceContents, error) { return next(ctx, req) },
			func(res []mcp.ResourceContents) outcome {
				return outcome{summary: fmt.Sprintf("%d contents", len(res))}
			})
	}
}

// promptMiddleware records every prompts/get.
func (r *recorder) promptMiddleware(next server.PromptHandlerFunc) server.PromptHandlerFunc {
	return func(ctx context.Context, req mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
		return record(ctx, r, request{
			method: string(mcp.MethodPromptsGet), name: req.Params.Name, id: req.Header.Get(requestIDHeader),
			args: req.Params.Arguments, meta: req.Params.Meta,
		}, func(ctx context.Context) (*mcp.GetPromptResult, error) { return next(ctx, req) },
			func(res *mcp.GetPromptResult) outcome {
				return outcome{summary: fmt.Sprintf("%d messages", len(res.Messages))}
			})
	}
}

// summarize keeps the start of a result for the step; the run log caps and
// redacts it further. The text content comes first: tools answer with the
// structured content's JSON there already, so nothing is encoded twice.
func summarize(res *mcp.CallToolResult) string {
	if res == nil {
		return ""
	}
	for _, c := range res.Content {
		if t, ok := c.(mcp.TextContent); ok {
			return clip(t.Text, 2048)
		}
	}
	if res.StructuredContent != nil {
		if b, err := json.Marshal(res.StructuredContent); err == nil {
			return clip(string(b), 2048)
		}
	}
	return ""
}

func errorText(res *mcp.CallToolResult) string {
	if res == nil || !res.IsError {
		return ""
	}
	for _, c := range res.Content {
		if t, ok := c.(mcp.TextContent); ok {
			return clip(t.Text, 2048)
		}
	}
	return "tool error"
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n] + "…"
}

func newID(prefix string) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}
