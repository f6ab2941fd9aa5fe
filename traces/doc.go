// Package traces is the SQLite and OpenTelemetry package: factory's run log.
//
// It owns the database at .git/factory/factory.db (DefaultPath): runs, the
// steps of a run (a step may contain steps, through ParentID), the messages
// of a run, snapshots recorded by sandbox, blobs (full test logs and diffs
// addressed by id), test runs with their failing tests, and invariant
// verdicts. It owns the schema and its migrations (PRAGMA user_version),
// redaction of secrets before anything is stored (package redact, at the one door to the database), full
// text search (FTS5 when the binary is built with -tags sqlite_fts5, a LIKE
// scan otherwise; Store.FTS says which), and the process-wide OpenTelemetry
// setup (SetupOTel), which exports over OTLP only when the standard
// OTEL_EXPORTER_OTLP_* variables ask for it.
//
// Durability: the database runs in WAL mode with synchronous=NORMAL. Every
// write method except RecordStep returns only after its transaction
// committed, so a write that returned survives a crash or kill -9 of the
// process; it is not guaranteed to survive a power loss or
// kernel crash (the WAL is synced at checkpoints, not at every commit).
// Writes of concurrent callers are committed together in one transaction
// (group commit, see Store); reads use a separate pool of connections and
// never wait for writes.
//
// The step journal: RecordStep, which the server calls once per request
// before replying, encodes the step as one record into a memory-mapped
// segment of its process (<db>.journal/<pid>-<random>.seg, held under
// flock(LOCK_EX) while the process lives; no system call per step) and
// returns; the insert commits in the background, in batches, within about
// 50 ms. A record in a shared mapping is in the kernel's page cache, so it
// survives a kill -9 of the process, not a power loss or kernel crash (the
// journal is never fsynced, like the WAL). Open replays into the
// database, before returning, the segments of processes that are gone
// (their lock is free), up to the first incomplete or damaged record, and
// removes them; inserts are idempotent by step id. A full segment is
// removed once its steps committed, and Close removes its own. Reads of
// the same Store (Query, Run, Runs) first wait for every step recorded
// before them to commit; other processes see a recorded
// step once it committed, about 50 ms later, as they see the full-text
// index behind the steps. If SQLite falls more than 50000 steps behind,
// RecordStep waits for it to catch up.
//
// Errors: every method returns *factory.Error values. The codes each method
// documents (EINVALID, ENOTFOUND, EUNAVAILABLE) are for the caller to act
// on. A run log the user can repair (a damaged file, one that cannot be
// written, a full disk) fails to open or write with EUNAVAILABLE holding a
// *Fault: the path, the cause and the fix. Any other failure is EINTERNAL.
//
// A run log that cannot be used must not stop the tools: OpenOrStandIn
// opens a stand-in in a temporary directory instead, and Store.Notice is
// the line every tool result then carries, saying that calls are not
// recorded, why, and what fixes it (also after a write that failed).
//
// Imports: the standard library (syscall for flock and mmap), the root package factory, mattn/go-sqlite3
// and OpenTelemetry. Never sandbox, invariants, tools, server or mcp-go.
package traces
