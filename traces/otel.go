package traces

import (
	"context"
	"errors"
	"github.com/factory-dev/factory/traces/redact"
	"os"
	"slices"
	"strings"
	"sync"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/factory-dev/factory"
)

// SetupOTel installs the process-wide OpenTelemetry providers, configured
// by the standard OTEL_* environment variables and nothing else:
//
//   - Traces are exported over OTLP/HTTP only when OTEL_EXPORTER_OTLP_ENDPOINT
//     or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is set (and OTEL_TRACES_EXPORTER
//     is not "none"). Otherwise the global TracerProvider stays the no-op
//     one, and spans cost next to nothing.
//   - Metrics likewise, with OTEL_EXPORTER_OTLP_ENDPOINT or
//     OTEL_EXPORTER_OTLP_METRICS_ENDPOINT (and OTEL_METRICS_EXPORTER not
//     "none"), exported periodically (OTEL_METRIC_EXPORT_INTERVAL).
//   - OTEL_SDK_DISABLED=true turns both off.
//   - The W3C trace-context and baggage propagators are always installed,
//     so a traceparent that arrives with a request is carried on.
//
// service and version become service.name and service.version unless
// OTEL_SERVICE_NAME or OTEL_RESOURCE_ATTRIBUTES say otherwise. The other
// variables (headers, protocol details, timeouts, sampler) are read by the
// OpenTelemetry SDK itself.
//
// shutdown flushes and stops what was installed; it is never nil and may be
// called more than once. err is EINVALID for an unusable configuration
// (a bad endpoint URL, say), in which case nothing was installed.
func SetupOTel(ctx context.Context, service, version string) (shutdown func(context.Context) error, err error) {
	otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}))
	nothing := func(context.Context) error { return nil }
	if strings.EqualFold(os.Getenv("OTEL_SDK_DISABLED"), "true") {
		return nothing, nil
	}
	wantTraces := (os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || os.Getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != "") &&
		os.Getenv("OTEL_TRACES_EXPORTER") != "none"
	wantMetrics := (os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || os.Getenv("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT") != "") &&
		os.Getenv("OTEL_METRICS_EXPORTER") != "none"
	if !wantTraces && !wantMetrics {
		return nothing, nil
	}
	// Later options win: the environment overrides our defaults.
	res, err := resource.New(ctx,
		resource.WithAttributes(attribute.String("service.name", service), attribute.String("service.version", version)),
		resource.WithTelemetrySDK(),
		resource.WithFromEnv(),
	)
	if err != nil && res == nil {
		return nothing, factory.Wrap("set up opentelemetry resource", err)
	}
	var shutdowns []func(context.Context) error
	var tp *sdktrace.TracerProvider
	var mp *sdkmetric.MeterProvider
	if wantTraces {
		exp, err := otlptracehttp.New(ctx)
		if err != nil {
			return nothing, factory.Errorf(factory.EINVALID, "OTLP trace exporter: %v; check the OTEL_EXPORTER_OTLP_* variables", err)
		}
		tp = sdktrace.NewTracerProvider(sdktrace.WithBatcher(RedactSpans(exp)), sdktrace.WithResource(res))
		shutdowns = append(shutdowns, tp.Shutdown)
	}
	if wantMetrics {
		exp, err := otlpmetrichttp.New(ctx)
		if err != nil {
			for _, f := range shutdowns {
				f(ctx)
			}
			return nothing, factory.Errorf(factory.EINVALID, "OTLP metric exporter: %v; check the OTEL_EXPORTER_OTLP_* variables", err)
		}
		mp = sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewPeriodicReader(exp)), sdkmetric.WithResource(res))
		shutdowns = append(shutdowns, mp.Shutdown)
	}
	if tp != nil {
		otel.SetTracerProvider(tp)
	}
	if mp != nil {
		otel.SetMeterProvider(mp)
	}
	var once sync.Once
	var shutdownErr error
	return func(ctx context.Context) error {
		once.Do(func() {
			var errs []error
			for _, f := range shutdowns {
				errs = append(errs, f(ctx))
			}
			shutdownErr = factory.Wrap("shut down opentelemetry", errors.Join(errs...))
		})
		return shutdownErr
	}, nil
}

// RedactSpans wraps exp so that every span it exports passes the run
// log's redactor (redact.Stored) first: its name, status description, and
// the string attributes of the span and its events. This is the one place
// span text is redacted: whatever attribute a caller adds (a resource URI
// with a token in its query, an error text quoting a password), the
// exporter never sends it in clear.
func RedactSpans(exp sdktrace.SpanExporter) sdktrace.SpanExporter {
	return redactingExporter{exp}
}

type redactingExporter struct{ sdktrace.SpanExporter }

func (e redactingExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	out := make([]sdktrace.ReadOnlySpan, len(spans))
	for i, sp := range spans {
		st := tracetest.SpanStubFromReadOnlySpan(sp)
		st.Name = redact.Stored(st.Name)
		st.Status.Description = redact.Stored(st.Status.Description)
		st.Attributes = redactAttrs(st.Attributes)
		for j := range st.Events {
			st.Events[j].Name = redact.Stored(st.Events[j].Name)
			st.Events[j].Attributes = redactAttrs(st.Events[j].Attributes)
		}
		out[i] = st.Snapshot()
	}
	return e.SpanExporter.ExportSpans(ctx, out)
}

func redactAttrs(in []attribute.KeyValue) []attribute.KeyValue {
	attrs := slices.Clone(in) // the span's own attributes stay as they are
	for i, kv := range attrs {
		switch kv.Value.Type() {
		case attribute.STRING:
			attrs[i].Value = attribute.StringValue(redact.Stored(kv.Value.AsString()))
		case attribute.STRINGSLICE:
			ss := kv.Value.AsStringSlice()
			for j := range ss {
				ss[j] = redact.Stored(ss[j])
			}
			attrs[i].Value = attribute.StringSliceValue(ss)
		}
	}
	return attrs
}
