//go:build deps

// Package deps pins the modules the packages are being built on while they
// are written in parallel, so go.mod does not churn. Removed once every
// module is imported for real.
package deps

import (
	_ "github.com/bluekeyes/go-gitdiff/gitdiff"
	_ "github.com/expr-lang/expr"
	_ "github.com/go-git/go-git/v5"
	_ "github.com/goccy/go-yaml"
	_ "github.com/mark3labs/mcp-go/server"
	_ "github.com/mattn/go-sqlite3"
	_ "go.opentelemetry.io/otel"
	_ "go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	_ "go.opentelemetry.io/otel/sdk/metric"
	_ "go.opentelemetry.io/otel/sdk/trace"
	_ "golang.org/x/perf/benchmath"
	_ "golang.org/x/sys/unix"
	_ "gotest.tools/gotestsum/testjson"
)
