// Package traces is the SQLite and OpenTelemetry package: factory's run log.
//
// It owns the database at .git/factory/factory.db (DefaultPath): runs, the
// steps of a run (a step may contain steps, through ParentID), the messages
// of a run, snapshots recorded by sandbox, blobs (full test logs and diffs
// addressed by id), test runs with their failing tests, and invariant
// verdicts. It owns the schema and its migrations (PRAGMA user_version),
// redaction of secrets before anything is stored (Redact, RedactJSON), full
// text search (FTS5 when the binary is built with -tags sqlite_fts5, a LIKE
// scan otherwise; Store.FTS says which), and the process-wide OpenTelemetry
// setup (SetupOTel), which exports over OTLP only when the standard
// OTEL_EXPORTER_OTLP_* variables ask for it.
//
// Durability: the database runs in WAL mode with synchronous=NORMAL. Every
// write method returns only after its transaction committed, so a step
// whose write returned survives a crash or kill -9 of the process; it is
// not guaranteed to survive a power loss or kernel crash (the WAL is synced
// at checkpoints, not at every commit). Writes of concurrent callers are
// committed together in one transaction (group commit, see Store); reads use
// a separate pool of connections and never wait for writes.
//
// Errors: every method returns *factory.Error values. The codes each method
// documents (EINVALID, ENOTFOUND, EUNAVAILABLE) are for the caller to act
// on; any other failure (a database or disk fault) is EINTERNAL.
//
// Imports: the standard library, the root package factory, mattn/go-sqlite3
// and OpenTelemetry. Never sandbox, invariants, tools, server or mcp-go.
package traces
