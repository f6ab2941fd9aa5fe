package traces_test

import (
	"compress/gzip"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
	colmetric "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	coltrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/factory-dev/factory/traces"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// receiver is a minimal OTLP/HTTP collector: it decodes what arrives.
type receiver struct {
	mu      sync.Mutex
	spans   map[string]map[string]string // span name -> attributes, plus resource service.name
	metrics map[string]bool
	posts   int
}

func newReceiver(t *testing.T) (*receiver, *httptest.Server) {
	r := &receiver{spans: map[string]map[string]string{}, metrics: map[string]bool{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		var body io.Reader = req.Body
		if req.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(req.Body)
			if err != nil {
				http.Error(w, err.Error(), 400)
				return
			}
			body = zr
		}
		raw, err := io.ReadAll(body)
		if err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		r.posts++
		switch req.URL.Path {
		case "/v1/traces":
			var msg coltrace.ExportTraceServiceRequest
			if err := proto.Unmarshal(raw, &msg); err != nil {
				http.Error(w, err.Error(), 400)
				return
			}
			for _, rs := range msg.ResourceSpans {
				service := ""
				for _, kv := range rs.Resource.GetAttributes() {
					if kv.Key == "service.name" {
						service = kv.Value.GetStringValue()
					}
				}
				for _, ss := range rs.ScopeSpans {
					for _, sp := range ss.Spans {
						attrs := map[string]string{"service.name": service, "trace_id": trace.TraceID(sp.TraceId).String()}
						for _, kv := range sp.Attributes {
							attrs[kv.Key] = kv.Value.GetStringValue()
						}
						r.spans[sp.Name] = attrs
					}
				}
			}
			b, _ := proto.Marshal(&coltrace.ExportTraceServiceResponse{})
			w.Header().Set("Content-Type", "application/x-protobuf")
			w.Write(b)
		case "/v1/metrics":
			var msg colmetric.ExportMetricsServiceRequest
			if err := proto.Unmarshal(raw, &msg); err != nil {
				http.Error(w, err.Error(), 400)
				return
			}
			for _, rm := range msg.ResourceMetrics {
				for _, sm := range rm.ScopeMetrics {
					for _, m := range sm.Metrics {
						r.metrics[m.Name] = true
					}
				}
			}
			b, _ := proto.Marshal(&colmetric.ExportMetricsServiceResponse{})
			w.Header().Set("Content-Type", "application/x-protobuf")
			w.Write(b)
		default:
			http.NotFound(w, req)
		}
	}))
	t.Cleanup(srv.Close)
	return r, srv
}

// clearOTelEnv empties every variable SetupOTel looks at, and puts the
// global providers back to no-ops after the test.
func clearOTelEnv(t *testing.T) {
	for _, k := range []string{"OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
		"OTEL_SDK_DISABLED", "OTEL_TRACES_EXPORTER", "OTEL_METRICS_EXPORTER", "OTEL_SERVICE_NAME", "OTEL_RESOURCE_ATTRIBUTES",
		"OTEL_EXPORTER_OTLP_HEADERS", "OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_TRACES_SAMPLER"} {
		t.Setenv(k, "")
	}
	otel.SetTracerProvider(tracenoop.NewTracerProvider())
	otel.SetMeterProvider(metricnoop.NewMeterProvider())
	t.Cleanup(func() {
		otel.SetTracerProvider(tracenoop.NewTracerProvider())
		otel.SetMeterProvider(metricnoop.NewMeterProvider())
	})
}

func TestSetupOTelExportsSpansAndMetricsWhenAsked(t *testing.T) {
	clearOTelEnv(t)
	rec, srv := newReceiver(t)
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", srv.URL)
	ctx := context.Background()
	shutdown, err := traces.SetupOTel(ctx, "factory-test", "v0.1.0")
	require.NoError(t, err)

	// A parent arriving as a traceparent header (as in params._meta) is
	// carried on by the installed propagator.
	const parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
	pctx := otel.GetTextMapPropagator().Extract(ctx, propagation.MapCarrier{"traceparent": parent})
	_, span := otel.Tracer("factory/server").Start(pctx, "tools/call patch_apply")
	require.True(t, span.IsRecording())
	span.SetAttributes(attribute.String("gen_ai.tool.name", "patch_apply"))
	span.End()
	h, err := otel.Meter("factory/server").Float64Histogram("mcp.server.operation.duration")
	require.NoError(t, err)
	h.Record(ctx, 0.25)

	require.NoError(t, shutdown(ctx)) // flushes
	require.NoError(t, shutdown(ctx), "idempotent")

	rec.mu.Lock()
	defer rec.mu.Unlock()
	got, ok := rec.spans["tools/call patch_apply"]
	require.True(t, ok, "span did not arrive; got %v", rec.spans)
	assert.Equal(t, "patch_apply", got["gen_ai.tool.name"])
	assert.Equal(t, "factory-test", got["service.name"])
	assert.Equal(t, "0af7651916cd43dd8448eb211c80319c", got["trace_id"], "parent trace kept")
	assert.True(t, rec.metrics["mcp.server.operation.duration"], "metric did not arrive; got %v", rec.metrics)
}

func TestSetupOTelTracesOnlyEndpoint(t *testing.T) {
	clearOTelEnv(t)
	rec, srv := newReceiver(t)
	t.Setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", srv.URL+"/v1/traces")
	t.Setenv("OTEL_SERVICE_NAME", "from-env")
	ctx := context.Background()
	shutdown, err := traces.SetupOTel(ctx, "factory-test", "v0.1.0")
	require.NoError(t, err)
	_, span := otel.Tracer("t").Start(ctx, "resources/read")
	span.End()
	m, _ := otel.Meter("t").Int64Counter("not.exported")
	m.Add(ctx, 1)
	require.NoError(t, shutdown(ctx))
	rec.mu.Lock()
	defer rec.mu.Unlock()
	require.Contains(t, rec.spans, "resources/read")
	assert.Equal(t, "from-env", rec.spans["resources/read"]["service.name"], "OTEL_SERVICE_NAME wins")
	assert.Empty(t, rec.metrics, "no metrics endpoint: no metrics")
}

func TestSetupOTelWithoutEndpointInstallsNothing(t *testing.T) {
	for name, env := range map[string][2]string{
		"no variables":            {"", ""},
		"sdk disabled":            {"OTEL_SDK_DISABLED", "true"},
		"traces and metrics none": {"OTEL_TRACES_EXPORTER", "none"},
	} {
		t.Run(name, func(t *testing.T) {
			clearOTelEnv(t)
			rec, srv := newReceiver(t)
			if env[0] != "" {
				t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", srv.URL)
				t.Setenv(env[0], env[1])
				t.Setenv("OTEL_METRICS_EXPORTER", "none")
			}
			ctx := context.Background()
			shutdown, err := traces.SetupOTel(ctx, "factory-test", "v0.1.0")
			require.NoError(t, err)
			_, span := otel.Tracer("t").Start(ctx, "tools/call x")
			assert.False(t, span.IsRecording(), "the no-op provider stays")
			span.End()
			require.NoError(t, shutdown(ctx))
			rec.mu.Lock()
			defer rec.mu.Unlock()
			assert.Zero(t, rec.posts)
		})
	}
}

// BenchmarkSpanNoop is the cost of a span when no exporter is configured.
func BenchmarkSpanNoop(b *testing.B) {
	otel.SetTracerProvider(tracenoop.NewTracerProvider())
	tr := otel.Tracer("bench")
	ctx := context.Background()
	for b.Loop() {
		_, span := tr.Start(ctx, "tools/call x")
		span.End()
	}
}
