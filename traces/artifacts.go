package traces

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"github.com/factory-dev/factory/traces/redact"
	"strings"
	"time"

	"github.com/factory-dev/factory"
)

// RecordSnapshot records a snapshot sandbox created. Recording an id again
// keeps the first record (a reused snapshot is the same snapshot). It
// returns EINVALID without an id, commit or tree.
func (s *Store) RecordSnapshot(ctx context.Context, snap factory.Snapshot) error {
	if snap.ID == "" || snap.Commit == "" || snap.Tree == "" {
		return factory.Errorf(factory.EINVALID, "record snapshot: id, commit and tree are required")
	}
	if snap.Created.IsZero() {
		snap.Created = time.Now()
	}
	label := clean(snap.Label, maxShort, false)
	err := s.write(func(w *wtx) error {
		_, err := w.execSQL(`INSERT INTO snapshots(id, "commit", tree, parent, label, run_id, step_id, created, added, modified, deleted)
			VALUES(?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT(id) DO NOTHING`,
			snap.ID, snap.Commit, snap.Tree, snap.Parent, label, snap.RunID, snap.StepID, nanos(snap.Created),
			snap.Changes.Added, snap.Changes.Modified, snap.Changes.Deleted)
		return err
	})
	return factory.Wrap("record snapshot", err)
}

// Snapshot returns the recorded snapshot id, or ENOTFOUND.
func (s *Store) Snapshot(ctx context.Context, id string) (factory.Snapshot, error) {
	var snap factory.Snapshot
	var created int64
	err := s.rdb.QueryRowContext(ctx, `SELECT id, "commit", tree, parent, label, run_id, step_id, created, added, modified, deleted
		FROM snapshots WHERE id = ?`, id).Scan(&snap.ID, &snap.Commit, &snap.Tree, &snap.Parent, &snap.Label, &snap.RunID,
		&snap.StepID, &created, &snap.Changes.Added, &snap.Changes.Modified, &snap.Changes.Deleted)
	if errors.Is(err, sql.ErrNoRows) {
		return factory.Snapshot{}, factory.Errorf(factory.ENOTFOUND, "snapshot %q is not in the run log", id)
	}
	snap.Created = fromNanos(created)
	return snap, factory.Wrap("read snapshot", err)
}

// PutBlob stores data under id, replacing any blob with that id. kind says
// what it is ("test-log", "diff", ...). Data is redacted like everything
// the run log stores (a diff read back may therefore not apply; the
// workspace recomputes exact diffs), capped at MaxBlob (head and tail kept,
// a line saying what was dropped between) and stored gzip-compressed: a
// failing run's log is megabytes of repetitive JSON events. It returns
// EINVALID without an id or kind.
func (s *Store) PutBlob(ctx context.Context, id, kind string, data []byte) error {
	if id == "" || kind == "" {
		return factory.Errorf(factory.EINVALID, "put blob: id and kind are required")
	}
	// Redacted before it is compressed: scrub cannot read compressed bytes.
	text := capBlob([]byte(redact.Stored(string(data))))
	z, err := gzipped(text)
	if err != nil {
		return factory.Wrap("put blob", err)
	}
	now := time.Now().UnixNano()
	err = s.write(func(w *wtx) error {
		_, err := w.execSQL(`INSERT INTO blobs(id, kind, created, size, data) VALUES(?,?,?,?,?)
			ON CONFLICT(id) DO UPDATE SET kind = excluded.kind, created = excluded.created, size = excluded.size, data = excluded.data`,
			id, kind, now, len(text), z)
		return err
	})
	return factory.Wrap("put blob", err)
}

// Blob returns the kind and data of blob id, uncompressed. An unknown id is
// EINVALID: ids come from tool results, so the caller passed a wrong one;
// the message lists the newest ids there are.
func (s *Store) Blob(ctx context.Context, id string) (kind string, data []byte, err error) {
	err = s.rdb.QueryRowContext(ctx, `SELECT kind, data FROM blobs WHERE id = ?`, id).Scan(&kind, &data)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil, factory.Errorf(factory.EINVALID, "blob %q is unknown: this run log has no blob with that id; pass an id a tool returned (snapshot_diff's full_diff, test_run's log) in this repository; %s", id, s.newestBlobs(ctx))
	}
	if err != nil {
		return "", nil, factory.Wrap("read blob", err)
	}
	if data, err = gunzipped(data); err != nil {
		return "", nil, factory.Wrap("read blob "+id, err)
	}
	return kind, data, nil
}

// newestBlobs says which blob ids there are, newest first, for a message.
func (s *Store) newestBlobs(ctx context.Context) string {
	rows, err := s.rdb.QueryContext(ctx, `SELECT id FROM blobs ORDER BY created DESC LIMIT 5`)
	if err != nil {
		return "the ids there are could not be listed"
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if rows.Scan(&id) == nil {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return "there are none yet: snapshot_diff and test_run make them"
	}
	return "the newest are " + strings.Join(ids, ", ")
}

// RecordTestRun records a test report and each of its failing and flaky
// tests (each test of a grouped failure), so that the run and every failing test are in the run log. The
// report (kept whole as JSON) is redacted. Recording the same report id
// again replaces it. It returns EINVALID without a report id.
func (s *Store) RecordTestRun(ctx context.Context, runID, stepID string, rep factory.TestReport) error {
	if rep.ID == "" {
		return factory.Errorf(factory.EINVALID, "record test run: the report has no id")
	}
	raw, err := json.Marshal(rep)
	if err != nil {
		return factory.Wrap("record test run", err)
	}
	report := redact.JSON(string(raw))
	now := time.Now().UnixNano()
	err = s.write(func(w *wtx) error {
		if _, err := w.execSQL(`INSERT OR REPLACE INTO test_runs(id, run_id, step_id, suite, status, total, passed, failed, skipped, duration, created, report)
			VALUES(?,?,?,?,?,?,?,?,?,?,?,?)`, rep.ID, runID, stepID, rep.Suite, rep.Status, rep.Counts.Total, rep.Counts.Passed,
			rep.Counts.Failed, rep.Counts.Skipped, int64(rep.Duration), now, report); err != nil {
			return err
		}
		if _, err := w.execSQL(`DELETE FROM test_failures WHERE test_run_id = ?`, rep.ID); err != nil {
			return err
		}
		for i, fs := range [][]factory.TestFailure{rep.Failures, rep.Flaky} {
			for _, f := range fs {
				for _, name := range f.Names() { // every test of a group of identical failures
					if _, err := w.execSQL(`INSERT INTO test_failures(test_run_id, name, package, flaky, message) VALUES(?,?,?,?,?)`,
						rep.ID, name, f.Package, i, clean(f.Message, maxSummary, false)); err != nil {
						return err
					}
				}
			}
		}
		return nil
	})
	return factory.Wrap("record test run", err)
}

// TestFailure is one failing test as the run log holds it.
type TestFailure struct {
	TestRunID string `json:"test_run_id"`
	Name      string `json:"name"`
	Package   string `json:"package,omitempty"`
	Flaky     bool   `json:"flaky,omitempty"`
	Message   string `json:"message,omitempty"`
}

// TestRun returns the recorded report id (as recorded, redacted) and the
// failing tests stored with it, or ENOTFOUND.
func (s *Store) TestRun(ctx context.Context, id string) (factory.TestReport, []TestFailure, error) {
	var raw string
	err := s.rdb.QueryRowContext(ctx, `SELECT report FROM test_runs WHERE id = ?`, id).Scan(&raw)
	if errors.Is(err, sql.ErrNoRows) {
		return factory.TestReport{}, nil, factory.Errorf(factory.ENOTFOUND, "test run %q not found", id)
	}
	if err != nil {
		return factory.TestReport{}, nil, factory.Wrap("read test run", err)
	}
	var rep factory.TestReport
	if err := json.Unmarshal([]byte(raw), &rep); err != nil {
		return factory.TestReport{}, nil, factory.Wrap("read test run", err)
	}
	rows, err := s.rdb.QueryContext(ctx, `SELECT test_run_id, name, package, flaky, message FROM test_failures WHERE test_run_id = ? ORDER BY rowid`, id)
	if err != nil {
		return factory.TestReport{}, nil, factory.Wrap("read test run", err)
	}
	defer rows.Close()
	var fails []TestFailure
	for rows.Next() {
		var f TestFailure
		if err := rows.Scan(&f.TestRunID, &f.Name, &f.Package, &f.Flaky, &f.Message); err != nil {
			return factory.TestReport{}, nil, factory.Wrap("read test run", err)
		}
		fails = append(fails, f)
	}
	return rep, fails, factory.Wrap("read test run", rows.Err())
}

// RecordVerdicts records invariant verdicts of a gate run. Messages and
// evidence are redacted. It returns EINVALID for a verdict without an id or
// status.
func (s *Store) RecordVerdicts(ctx context.Context, runID, stepID string, vs []factory.Verdict) error {
	type row struct {
		id, status, message, evidence string
		dur                           int64
	}
	rows := make([]row, 0, len(vs))
	for _, v := range vs {
		if v.ID == "" || v.Status == "" {
			return factory.Errorf(factory.EINVALID, "record verdicts: a verdict needs an invariant id and a status")
		}
		ev := v.Evidence
		if ev == nil {
			ev = []string{}
		}
		raw, err := json.Marshal(ev)
		if err != nil {
			return factory.Wrap("record verdicts", err)
		}
		rows = append(rows, row{v.ID, v.Status, clean(v.Message, maxSummary, false), capText(redact.JSON(string(raw)), maxMessage), int64(v.Duration)})
	}
	if len(rows) == 0 {
		return nil
	}
	now := time.Now().UnixNano()
	err := s.write(func(w *wtx) error {
		for _, r := range rows {
			if _, err := w.execSQL(`INSERT INTO verdicts(run_id, step_id, invariant, status, message, evidence, duration, created)
				VALUES(?,?,?,?,?,?,?,?)`, runID, stepID, r.id, r.status, r.message, r.evidence, r.dur, now); err != nil {
				return err
			}
		}
		return nil
	})
	return factory.Wrap("record verdicts", err)
}

// Verdicts returns the verdicts recorded for a run, oldest first.
func (s *Store) Verdicts(ctx context.Context, runID string) ([]factory.Verdict, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT invariant, status, message, evidence, duration FROM verdicts WHERE run_id = ? ORDER BY created, id`, runID)
	if err != nil {
		return nil, factory.Wrap("read verdicts", err)
	}
	defer rows.Close()
	var vs []factory.Verdict
	for rows.Next() {
		var v factory.Verdict
		var ev string
		var dur int64
		if err := rows.Scan(&v.ID, &v.Status, &v.Message, &ev, &dur); err != nil {
			return nil, factory.Wrap("read verdicts", err)
		}
		v.Duration = time.Duration(dur)
		if err := json.Unmarshal([]byte(ev), &v.Evidence); err != nil {
			v.Evidence = []string{ev} // capped evidence is not valid JSON any more
		}
		vs = append(vs, v)
	}
	return vs, factory.Wrap("read verdicts", rows.Err())
}
