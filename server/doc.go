// Package server assembles factory's MCP server: the mcp-go server with the
// tools of package tools, the transports (stdio and Streamable HTTP, both
// protocol eras: 2025-11-25 with initialize and sessions, 2026-07-28
// stateless), the HTTP safety wrapper (loopback bind, Origin and Host checks,
// bearer token, body cap, timeouts), and the middleware that makes every
// tools/call, resources/read and prompts/get a step in the run log and an
// OpenTelemetry span.
//
// It also records the phases of a long request (ChildSteps) as steps under
// the request's own, so that every step of the run log is written here.
//
// server imports the root package, tools, mcp-go and OpenTelemetry; the run
// log is reached through the interfaces it declares (StepStore, RunStore,
// StepRecorder), which traces.Store implements. Only server/ and tools/
// know mcp-go exists.
package server
