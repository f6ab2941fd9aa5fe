package traces

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/factory-dev/factory"
)

// migrations is the schema, one entry per version: migrations[i] takes a
// database from user_version i to i+1. Entries are only ever appended.
//
// Times are Unix nanoseconds (UTC), durations nanoseconds. steps and
// messages have an INTEGER PRIMARY KEY (seq, id) so that their rowids are
// stable across VACUUM: the optional FTS5 indexes point at them.
// Foreign keys are documented, not enforced: the run log must accept a step
// even if its run row was lost, and enforcement costs a lookup per insert.
// steps.snapshot is not written (it stays empty): dropping a column rewrites
// the whole table, and a new schema version would lock older builds out of
// the run log, for one empty column.
var migrations = []string{
	// 1: the run log.
	`
CREATE TABLE meta (
	key   TEXT PRIMARY KEY,
	value TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE runs (
	id       TEXT PRIMARY KEY,
	name     TEXT NOT NULL DEFAULT '',
	workflow TEXT NOT NULL DEFAULT '',
	client   TEXT NOT NULL DEFAULT '',
	root     TEXT NOT NULL DEFAULT '',
	started  INTEGER NOT NULL,
	ended    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX runs_started ON runs(started, id);

CREATE TABLE steps (
	seq        INTEGER PRIMARY KEY,
	id         TEXT NOT NULL UNIQUE,
	run_id     TEXT NOT NULL,            -- runs.id
	parent_id  TEXT NOT NULL DEFAULT '', -- steps.id of the containing step
	request_id TEXT NOT NULL DEFAULT '',
	method     TEXT NOT NULL DEFAULT '',
	tool       TEXT NOT NULL DEFAULT '',
	args       TEXT NOT NULL DEFAULT '', -- JSON, redacted, capped
	result     TEXT NOT NULL DEFAULT '', -- summary, redacted, capped
	status     TEXT NOT NULL,
	error      TEXT NOT NULL DEFAULT '',
	snapshot   TEXT NOT NULL DEFAULT '',
	started    INTEGER NOT NULL,
	duration   INTEGER NOT NULL DEFAULT 0,
	trace_id   TEXT NOT NULL DEFAULT '',
	span_id    TEXT NOT NULL DEFAULT ''
);
-- One index per query shape of Query, each ending in (started, id) for
-- keyset pagination newest first. steps_run also covers status so that
-- step and failure counts per run are index-only.
CREATE INDEX steps_run     ON steps(run_id, started, id, status);
CREATE INDEX steps_tool    ON steps(tool, started, id);
CREATE INDEX steps_status  ON steps(status, started, id);
CREATE INDEX steps_started ON steps(started, id);

CREATE TABLE messages (
	id      INTEGER PRIMARY KEY,
	run_id  TEXT NOT NULL,
	step_id TEXT NOT NULL DEFAULT '',
	kind    TEXT NOT NULL,
	text    TEXT NOT NULL,
	created INTEGER NOT NULL
);
CREATE INDEX messages_run     ON messages(run_id, created, id);
CREATE INDEX messages_created ON messages(created, id);

CREATE TABLE snapshots (
	id       TEXT PRIMARY KEY,
	"commit" TEXT NOT NULL,
	tree     TEXT NOT NULL,
	parent   TEXT NOT NULL DEFAULT '',
	label    TEXT NOT NULL DEFAULT '',
	run_id   TEXT NOT NULL DEFAULT '',
	step_id  TEXT NOT NULL DEFAULT '',
	created  INTEGER NOT NULL,
	added    INTEGER NOT NULL DEFAULT 0,
	modified INTEGER NOT NULL DEFAULT 0,
	deleted  INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX snapshots_run ON snapshots(run_id, created);

-- Full test logs and full diffs, addressed by id (factory://blobs/<id>; a test
-- log also at factory://tests/<id>/log).
CREATE TABLE blobs (
	id      TEXT PRIMARY KEY,
	kind    TEXT NOT NULL,
	created INTEGER NOT NULL,
	size    INTEGER NOT NULL,
	data    BLOB NOT NULL
);

CREATE TABLE test_runs (
	id       TEXT PRIMARY KEY, -- TestReport.ID
	run_id   TEXT NOT NULL DEFAULT '',
	step_id  TEXT NOT NULL DEFAULT '',
	suite    TEXT NOT NULL DEFAULT '',
	status   TEXT NOT NULL,
	total    INTEGER NOT NULL DEFAULT 0,
	passed   INTEGER NOT NULL DEFAULT 0,
	failed   INTEGER NOT NULL DEFAULT 0,
	skipped  INTEGER NOT NULL DEFAULT 0,
	duration INTEGER NOT NULL DEFAULT 0,
	created  INTEGER NOT NULL,
	report   TEXT NOT NULL -- the TestReport as JSON, redacted
);
CREATE INDEX test_runs_run ON test_runs(run_id, created);

CREATE TABLE test_failures (
	test_run_id TEXT NOT NULL, -- test_runs.id
	name        TEXT NOT NULL,
	package     TEXT NOT NULL DEFAULT '',
	flaky       INTEGER NOT NULL DEFAULT 0, -- failed, then passed on rerun
	message     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX test_failures_run  ON test_failures(test_run_id);
CREATE INDEX test_failures_name ON test_failures(name, package);

CREATE TABLE verdicts (
	id        INTEGER PRIMARY KEY,
	run_id    TEXT NOT NULL DEFAULT '',
	step_id   TEXT NOT NULL DEFAULT '',
	invariant TEXT NOT NULL,
	status    TEXT NOT NULL,
	message   TEXT NOT NULL DEFAULT '',
	evidence  TEXT NOT NULL DEFAULT '[]', -- JSON array of strings
	duration  INTEGER NOT NULL DEFAULT 0,
	created   INTEGER NOT NULL
);
CREATE INDEX verdicts_run       ON verdicts(run_id, created);
CREATE INDEX verdicts_invariant ON verdicts(invariant, created);
`,
}

// SchemaVersion is the schema version this build writes (PRAGMA
// user_version after Open).
var SchemaVersion = len(migrations)

// migrate brings the database up to SchemaVersion, one version per
// transaction. Each transaction rereads user_version after taking the write
// lock, so two processes opening the same new database do not both migrate.
// It returns EUNAVAILABLE for a database newer than this build.
func migrate(ctx context.Context, db *sql.DB) error {
	for {
		tx, err := db.BeginTx(ctx, nil) // BEGIN IMMEDIATE (_txlock): the write lock
		if err != nil {
			return fmt.Errorf("begin: %w", err)
		}
		var v int
		if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
			tx.Rollback()
			return fmt.Errorf("read user_version: %w", err)
		}
		if v > len(migrations) {
			tx.Rollback()
			return factory.Errorf(factory.EUNAVAILABLE,
				"the run log has schema version %d but this factory knows only up to %d; upgrade factory", v, len(migrations))
		}
		if v == len(migrations) {
			return tx.Rollback()
		}
		if _, err := tx.ExecContext(ctx, migrations[v]); err != nil {
			tx.Rollback()
			return fmt.Errorf("migration %d: %w", v+1, err)
		}
		if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", v+1)); err != nil {
			tx.Rollback()
			return fmt.Errorf("migration %d: set user_version: %w", v+1, err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("migration %d: commit: %w", v+1, err)
		}
	}
}

// ftsSchema creates the optional full-text indexes. They are not a
// versioned migration because they depend on the build (FTS5 is compiled in
// only with -tags sqlite_fts5); see Store.setupFTS.
//
// steps_fts is contentless (the text lives once, in steps) with deletes by
// rowid, and is filled behind the writes: a step's transaction only adds
// its seq to fts_pending (indexed says whether the index holds an older
// version of the row, to delete first), and Store.indexSteps moves pending
// steps into the index in large transactions. An FTS5 index costs far more
// per transaction (a new segment, merges) than per row, so this takes it
// off the path every MCP reply waits for. Text queries index what is
// pending before they search, so they never miss a step.
//
// steps_fts also indexes every token's prefixes of 3, 4 and 5 characters,
// so that a prefix query ("hunk*") reads one list in rowid order and stops
// at the page's end, instead of merging the lists of every token with the
// prefix: on a million steps, p95 0.7 ms instead of 18-32 ms, for an index
// half as large again. Query refuses prefixes under 3 characters.
//
// messages_fts is an external content table written with each message:
// messages are few.
const ftsSchema = `
CREATE VIRTUAL TABLE IF NOT EXISTS steps_fts USING fts5(tool, args, result, error, content='', contentless_delete=1, prefix='3 4 5');
CREATE VIRTUAL TABLE IF NOT EXISTS messages_fts USING fts5(text, content='messages', content_rowid='id', columnsize=0);
CREATE TABLE IF NOT EXISTS fts_pending (
	seq     INTEGER PRIMARY KEY, -- steps.seq
	indexed INTEGER NOT NULL     -- 1: steps_fts holds an older version of the row
);
`

// stepsFTSDef identifies the current definition of steps_fts; an index
// made by an older definition is dropped and rebuilt.
const stepsFTSDef = "contentless_delete=1, prefix='3 4 5'"
