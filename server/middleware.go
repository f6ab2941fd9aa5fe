package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/factory-dev/factory"
	"github.com/factory-dev/factory/tools"
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
	StepRecorder
	// Notice is what every tool result adds while the run log cannot
	// record calls (a stand-in for a damaged file, a full disk); "" when
	// it can.
	Notice() string
}

// requestIDHeader carries the JSON-RPC id from the before-hooks (which see
// it) to the middleware (which does not).
const requestIDHeader = "X-Factory-Request-Id"

// recorder turns requests into steps and spans.
type recorder struct {
	store StepStore
	runs  *runTracker
	log   *slog.Logger

	inst       atomic.Pointer[instruments] // of the providers installed when last looked
	metricOpts sync.Map                    // metricKey -> []metric.RecordOption
}

func newRecorder(store StepStore, runs *runTracker, log *slog.Logger) *recorder {
	return &recorder{store: store, runs: runs, log: log}
}

// instrumentation names factory's tracer and meter.
const instrumentation = "github.com/factory-dev/factory/server"

// instruments are the tracer and the duration histogram of one pair of
// installed providers; nil for an idle one.
type instruments struct {
	tp       trace.TracerProvider
	mp       metric.MeterProvider
	tracer   trace.Tracer
	duration metric.Float64Histogram
}

// instruments returns those of the providers installed now, made once per
// pair of providers: a provider installed after New is used from the next
// request on.
func (r *recorder) instruments() *instruments {
	tp, mp := otel.GetTracerProvider(), otel.GetMeterProvider()
	if in := r.inst.Load(); in != nil && in.tp == tp && in.mp == mp {
		return in
	}
	in := &instruments{tp: tp, mp: mp}
	if tp != idleTracers {
		in.tracer = tp.Tracer(instrumentation)
	}
	if mp != idleMeters {
		hist, err := mp.Meter(instrumentation).Float64Histogram("mcp.server.operation.duration",
			metric.WithUnit("s"),
			metric.WithDescription("Duration of MCP requests served by factory"),
			metric.WithExplicitBucketBoundaries(0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 60, 300))
		if err != nil {
			r.log.Warn("no duration histogram", "err", err)
		}
		in.duration = hist
	}
	r.inst.Store(in)
	return in
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
	rejected  bool // a verdict against the change: an answer, not a failure
	errText   string
	err       error
}

// serverSpan is how every request's span starts.
var serverSpan = []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindServer)}

// The providers otel hands out until one is installed (traces.SetupOTel
// installs them when an OTLP endpoint is set). While they are current, a
// request makes no span and no histogram point: they would be no-ops, and
// building them was a third of the middleware's cost.
var idleTracers, idleMeters = otel.GetTracerProvider(), otel.GetMeterProvider()

// around runs fn as one step of the connection's run, inside a span.
//
// It runs on every request, so it builds nothing it does not need: no
// span or histogram point without an installed provider, span attributes
// only for a span that records (a sampler therefore decides without
// them), and the histogram's attribute set once per method, name and
// outcome (metricOptions).
func (r *recorder) around(ctx context.Context, req request, fn func(context.Context) outcome) (out outcome) {
	start := time.Now()
	c := connection(ctx)
	starts := r.runs.starts.Load()
	runID, err := r.runs.current(ctx, c)
	if err != nil {
		r.log.Error("cannot start a run; the request is served but not recorded", "err", err)
	}
	stepID := factory.NewStepID(start)
	ctx = factory.WithCall(ctx, factory.Call{RunID: runID, StepID: stepID})
	ctx = extractTraceparent(ctx, req.meta)

	// Without tracing, the span is the caller's remote parent (traceparent
	// in _meta), if any, as a no-op tracer would make it.
	inst := r.instruments()
	span := trace.SpanFromContext(ctx)
	if inst.tracer != nil {
		spanName := req.method
		if req.name != "" {
			spanName += " " + req.name
		}
		ctx, span = inst.tracer.Start(ctx, spanName, serverSpan...)
		if span.IsRecording() {
			span.SetAttributes(spanAttributes(req, runID, stepID)...)
		}
	}

	func() {
		defer func() {
			if p := recover(); p != nil {
				id := factory.NewID("e-")
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
	case out.rejected:
		status = factory.StepRejected
	}
	elapsed := time.Since(start)
	// A step belongs to the run that is current when it ends: run_start's
	// own step opens the run it starts.
	if r.runs.starts.Load() != starts {
		if now := r.runs.peek(c); now != "" {
			runID = now
		}
	}

	if errType != "" {
		span.SetAttributes(attribute.String("error.type", errType))
		span.SetStatus(codes.Error, out.errText)
	}
	sc := span.SpanContext()
	// A cancelled request is recorded all the same: RecordStep and the
	// histogram do not give up on a cancelled ctx.
	if runID != "" {
		if _, err := r.store.RecordStep(ctx, factory.Step{
			ID: stepID, RunID: runID, RequestID: req.id, Method: req.method, Tool: req.name,
			Args: argsJSON(req.args), Result: out.summary, Status: status, Error: out.errText,
			Started: start, Duration: elapsed, TraceID: traceID(sc), SpanID: spanID(sc),
		}); err != nil {
			r.log.Error("cannot record step", "step", stepID, "err", err)
		}
	}
	span.End()
	if inst.duration != nil {
		inst.duration.Record(ctx, elapsed.Seconds(), r.metricOptions(req, errType)...)
	}
	return out
}

// spanAttributes are the semantic-convention attributes of a request's
// span.
func spanAttributes(req request, runID, stepID string) []attribute.KeyValue {
	attrs := make([]attribute.KeyValue, 0, 6)
	attrs = append(attrs, attribute.String("mcp.method.name", req.method))
	switch req.method {
	case string(mcp.MethodToolsCall):
		attrs = append(attrs,
			attribute.String("gen_ai.tool.name", req.name),
			attribute.String("gen_ai.operation.name", "execute_tool"))
	case string(mcp.MethodResourcesRead):
		attrs = append(attrs, attribute.String("mcp.resource.uri", req.name))
	default:
		attrs = append(attrs, attribute.String("gen_ai.prompt.name", req.name))
	}
	if req.id != "" {
		attrs = append(attrs, attribute.String("jsonrpc.request.id", req.id))
	}
	return append(attrs, attribute.String("factory.run.id", runID), attribute.String("factory.step.id", stepID))
}

// metricKey picks a histogram attribute set. The name is that of a tool
// or prompt (a resource URI is not an attribute: it is unbounded), so the
// sets are few.
type metricKey struct{ method, name, errType string }

// metricOptions returns the histogram's options for a request, made once
// per attribute set.
func (r *recorder) metricOptions(req request, errType string) []metric.RecordOption {
	k := metricKey{method: req.method, errType: errType}
	if req.method != string(mcp.MethodResourcesRead) {
		k.name = req.name
	}
	if o, ok := r.metricOpts.Load(k); ok {
		return o.([]metric.RecordOption)
	}
	attrs := []attribute.KeyValue{attribute.String("mcp.method.name", k.method)}
	if k.errType != "" {
		attrs = append(attrs, attribute.String("error.type", k.errType))
	}
	switch k.method {
	case string(mcp.MethodToolsCall):
		attrs = append(attrs, attribute.String("gen_ai.tool.name", k.name))
	case string(mcp.MethodPromptsGet):
		attrs = append(attrs, attribute.String("gen_ai.prompt.name", k.name))
	}
	o, _ := r.metricOpts.LoadOrStore(k, []metric.RecordOption{metric.WithAttributeSet(attribute.NewSet(attrs...))})
	return o.([]metric.RecordOption)
}

// headerID reads the id the before-hooks left (the key is canonical: no
// Header.Get, which canonicalises it on every call).
func headerID(h http.Header) string {
	if v := h[requestIDHeader]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// requestID is the JSON-RPC id as the client sent it: 7, or "abc".
func requestID(id any) string {
	if r, ok := id.(mcp.RequestId); ok {
		id = r.Value()
	}
	switch v := id.(type) {
	case string:
		return v
	case int64:
		return strconv.FormatInt(v, 10)
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case nil:
		return ""
	}
	return fmt.Sprint(id)
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

// toolMiddleware records every tools/call and tells the client how it
// ended, as a log message at the level the outcome deserves.
func (r *recorder) toolMiddleware(next server.ToolHandlerFunc) server.ToolHandlerFunc {
	return func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		if req.Params.Task != nil {
			// mcp-go runs a task under the context of the request that
			// created it, which ends once the task is created: detached,
			// the call runs to its end. tasks/cancel still marks the task
			// cancelled; the work stops at its own time limits.
			ctx = context.WithoutCancel(ctx)
		}
		ctx = tools.WithProgress(ctx, req)
		start := time.Now()
		tools.LogToClient(ctx, mcp.LoggingLevelDebug, req.Params.Name+": called")
		res, err := r.recordTool(ctx, req, next)
		level, msg := callOutcome(req.Params.Name, res, err, time.Since(start))
		tools.LogToClient(ctx, level, msg)
		return res, err
	}
}

// callOutcome is the log message of a finished call: info when it
// answered, warning for a tool error (what the agent must act on), error
// for a fault.
func callOutcome(name string, res *mcp.CallToolResult, err error, took time.Duration) (mcp.LoggingLevel, string) {
	took = took.Round(time.Millisecond)
	switch {
	case err != nil:
		return mcp.LoggingLevelError, fmt.Sprintf("%s failed after %v: %v", name, took, err)
	case res != nil && res.IsError:
		return mcp.LoggingLevelWarning, fmt.Sprintf("%s answered an error after %v: %s", name, took, factory.Clip(errorText(res), 300))
	}
	return mcp.LoggingLevelInfo, fmt.Sprintf("%s done in %v", name, took)
}

func (r *recorder) recordTool(ctx context.Context, req mcp.CallToolRequest, next server.ToolHandlerFunc) (*mcp.CallToolResult, error) {
	return record(ctx, r, request{
		method: string(mcp.MethodToolsCall), name: req.Params.Name, id: headerID(req.Header),
		args: req.GetRawArguments(), meta: req.Params.Meta,
	}, func(ctx context.Context) (*mcp.CallToolResult, error) { return next(ctx, req) },
		func(res *mcp.CallToolResult) outcome {
			return outcome{summary: summarize(res), toolError: res != nil && res.IsError, errText: errorText(res), rejected: tools.Rejected(res)}
		})
}

// noticeMiddleware adds the run log's notice, if any, to every tool
// result: an agent whose calls are not recorded is told so, and why, in
// the answer it reads, and the call itself still succeeds.
func (r *recorder) noticeMiddleware(next server.ToolHandlerFunc) server.ToolHandlerFunc {
	return func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		res, err := next(ctx, req)
		if res != nil {
			if n := r.store.Notice(); n != "" {
				res.Content = append(res.Content, mcp.NewTextContent(n))
			}
		}
		return res, err
	}
}

// resourceMiddleware records every resources/read.
func (r *recorder) resourceMiddleware(next server.ResourceHandlerFunc) server.ResourceHandlerFunc {
	return func(ctx context.Context, req mcp.ReadResourceRequest) ([]mcp.ResourceContents, error) {
		return record(ctx, r, request{
			method: string(mcp.MethodResourcesRead), name: req.Params.URI, id: headerID(req.Header),
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
			method: string(mcp.MethodPromptsGet), name: req.Params.Name, id: headerID(req.Header),
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
			return factory.Clip(t.Text, 2048)
		}
	}
	if res.StructuredContent != nil {
		if b, err := json.Marshal(res.StructuredContent); err == nil {
			return factory.Clip(string(b), 2048)
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
			return factory.Clip(t.Text, 2048)
		}
	}
	return "tool error"
}
