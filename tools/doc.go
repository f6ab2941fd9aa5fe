// Package tools defines factory's MCP tools: for each, a typed parameter
// struct (its JSON schema is what the model sees), one call into a domain
// package, and a typed result. Tools are data: a registry of toolsets that
// server/ filters (--toolsets, --read-only) and registers.
//
// tools imports the root package, sandbox, invariants, traces and mcp-go. It
// never imports server. Cross-cutting work (steps, spans, logs, recovery) is
// server/'s middleware; tools never write the run log for a request
// themselves, except to record domain records (snapshots, test runs,
// verdicts) that belong to the step.
package tools
