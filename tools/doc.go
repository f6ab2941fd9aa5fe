// Package tools defines factory's MCP tools: for each, a typed parameter
// struct (its JSON schema is what the model sees), one call into a domain
// package, and a typed result. Tools are data: a registry of toolsets that
// server/ filters (--toolsets, --read-only) and registers.
//
// tools imports the root package, sandbox, invariants, traces and mcp-go. It
// never imports server. Cross-cutting work (steps, spans, logs, recovery) is
// server/'s middleware. Handlers never write the run log: what a call made
// that the run log keeps (snapshots, test runs, verdicts, long outputs) is
// returned beside its result and recorded in one place (handle, record.go).
//
// registry.go is the tool surface: one table of toolsets, each listing its
// tools; each tool is made by a function named after it, in the file of its
// toolset.
package tools
