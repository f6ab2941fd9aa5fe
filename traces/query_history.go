package traces

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/factory-dev/factory"
)

// Query kinds over what the tools recorded: the history an investigation
// reads (which snapshots a run made, which tests failed when, which
// invariants held).
const (
	KindSnapshots = "snapshots"
	KindTestRuns  = "test_runs"
	KindVerdicts  = "verdicts"
)

// A listed test run or verdict is bounded, so that a page stays small
// whatever was recorded: the whole report is TestRun's.
const (
	maxListedFailures = 20  // failing tests per listed test run
	maxListedEvidence = 10  // evidence lines per listed verdict
	maxListedText     = 300 // bytes of a listed message or evidence line
)

// TestRunSummary is a test run as Query lists it: its counts and up to 20
// of its failing and flaky tests (Counts.Failed says how many failed in
// all); TestRun returns the whole report.
type TestRunSummary struct {
	ID       string             `json:"id"`
	RunID    string             `json:"run_id,omitempty"`
	StepID   string             `json:"step_id,omitempty"`
	Suite    string             `json:"suite"`
	Status   string             `json:"status"`
	Counts   factory.TestCounts `json:"counts"`
	Duration time.Duration      `json:"duration_ns"`
	Created  time.Time          `json:"created"`
	Failures []TestFailure      `json:"failures,omitempty"`
}

// VerdictRecord is a recorded verdict with the run and step that produced
// it; its evidence is cut to 10 lines of 300 bytes.
type VerdictRecord struct {
	factory.Verdict
	RunID   string    `json:"run_id,omitempty"`
	StepID  string    `json:"step_id,omitempty"`
	Created time.Time `json:"created"`
}

// kindFilters says which of Query's filters a kind has: status applies
// to steps, test runs and verdicts, tool to steps only.
func kindFilters(q Query) error {
	switch {
	case q.Tool != "" && q.Kind != KindSteps:
		return factory.Errorf(factory.EINVALID, "tool filters steps, not %s; drop it or use kind steps", q.Kind)
	case q.Status != "" && q.Kind != KindSteps && q.Kind != KindTestRuns && q.Kind != KindVerdicts:
		return factory.Errorf(factory.EINVALID, "status filters steps, test_runs and verdicts, not %s; drop it or use one of those kinds", q.Kind)
	}
	return nil
}

// querySnapshots lists snapshots, newest first; Text matches the id or the
// label.
func (s *Store) querySnapshots(ctx context.Context, q Query, cur *cursor) (Page, error) {
	var wh where
	commonHistory(&wh, q, cur, "n.run_id", "n.created", "n.id", "n.id", "n.label")
	rows, err := s.rdb.QueryContext(ctx, `SELECT n.id, n."commit", n.tree, n.parent, n.label, n.run_id, n.step_id, n.created,
		n.added, n.modified, n.deleted FROM snapshots n`+wh.sql()+` ORDER BY n.created DESC, n.id DESC LIMIT ?`, append(wh.args, q.Limit+1)...)
	if err != nil {
		return Page{}, err
	}
	var page Page
	page.Snapshots, page.Next, err = collect(rows, q.Limit, func(sc scanner) (factory.Snapshot, cursor, error) {
		var n factory.Snapshot
		var created int64
		err := sc.Scan(&n.ID, &n.Commit, &n.Tree, &n.Parent, &n.Label, &n.RunID, &n.StepID, &created,
			&n.Changes.Added, &n.Changes.Modified, &n.Changes.Deleted)
		n.Created = fromNanos(created)
		return n, cursor{Kind: KindSnapshots, Started: created, ID: n.ID}, err
	})
	return page, err
}

// queryTestRuns lists test runs, newest first, each with its failing
// tests; Text matches the suite or the name or package of a failing test
// (which runs did TestX fail in?).
func (s *Store) queryTestRuns(ctx context.Context, q Query, cur *cursor) (Page, error) {
	var wh where
	if q.Status != "" {
		wh.add("t.status = ?", q.Status)
	}
	commonHistory(&wh, q, cur, "t.run_id", "t.created", "t.id", "t.suite",
		"(SELECT group_concat(f.name || ' ' || f.package, ' ') FROM test_failures f WHERE f.test_run_id = t.id)")
	rows, err := s.rdb.QueryContext(ctx, `SELECT t.id, t.run_id, t.step_id, t.suite, t.status, t.total, t.passed, t.failed,
		t.skipped, t.duration, t.created FROM test_runs t`+wh.sql()+` ORDER BY t.created DESC, t.id DESC LIMIT ?`, append(wh.args, q.Limit+1)...)
	if err != nil {
		return Page{}, err
	}
	var page Page
	page.TestRuns, page.Next, err = collect(rows, q.Limit, func(sc scanner) (TestRunSummary, cursor, error) {
		var t TestRunSummary
		var dur, created int64
		err := sc.Scan(&t.ID, &t.RunID, &t.StepID, &t.Suite, &t.Status, &t.Counts.Total, &t.Counts.Passed,
			&t.Counts.Failed, &t.Counts.Skipped, &dur, &created)
		t.Duration, t.Created = time.Duration(dur), fromNanos(created)
		return t, cursor{Kind: KindTestRuns, Started: created, ID: t.ID}, err
	})
	if err != nil {
		return Page{}, err
	}
	for i := range page.TestRuns {
		if page.TestRuns[i].Failures, err = s.listedFailures(ctx, page.TestRuns[i].ID); err != nil {
			return Page{}, err
		}
	}
	return page, nil
}

// listedFailures reads the first failing tests of a test run, in the order
// they were recorded.
func (s *Store) listedFailures(ctx context.Context, testRunID string) ([]TestFailure, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT test_run_id, name, package, flaky, message FROM test_failures
		WHERE test_run_id = ? ORDER BY rowid LIMIT ?`, testRunID, maxListedFailures)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []TestFailure
	for rows.Next() {
		var f TestFailure
		if err := rows.Scan(&f.TestRunID, &f.Name, &f.Package, &f.Flaky, &f.Message); err != nil {
			return nil, err
		}
		f.Message = factory.Clip(f.Message, maxListedText)
		out = append(out, f)
	}
	return out, rows.Err()
}

// queryVerdicts lists verdicts, newest first; Text matches the invariant
// id or the message.
func (s *Store) queryVerdicts(ctx context.Context, q Query, cur *cursor) (Page, error) {
	var wh where
	if q.Status != "" {
		wh.add("v.status = ?", q.Status)
	}
	if cur != nil {
		// verdicts are keyed by their integer id, not a text one
		wh.add("(v.created, v.id) < (?, ?)", cur.Started, cur.Seq)
	}
	commonHistory(&wh, q, nil, "v.run_id", "v.created", "", "v.invariant", "v.message")
	rows, err := s.rdb.QueryContext(ctx, `SELECT v.id, v.run_id, v.step_id, v.invariant, v.status, v.message, v.evidence,
		v.duration, v.created FROM verdicts v`+wh.sql()+` ORDER BY v.created DESC, v.id DESC LIMIT ?`, append(wh.args, q.Limit+1)...)
	if err != nil {
		return Page{}, err
	}
	var page Page
	page.Verdicts, page.Next, err = collect(rows, q.Limit, func(sc scanner) (VerdictRecord, cursor, error) {
		var v VerdictRecord
		var seq, dur, created int64
		var ev string
		err := sc.Scan(&seq, &v.RunID, &v.StepID, &v.ID, &v.Status, &v.Message, &ev, &dur, &created)
		v.Duration, v.Created = time.Duration(dur), fromNanos(created)
		v.Message = factory.Clip(v.Message, maxListedText)
		v.Evidence = listedEvidence(ev)
		return v, cursor{Kind: KindVerdicts, Started: created, ID: fmt.Sprint(seq), Seq: seq}, err
	})
	return page, err
}

// listedEvidence reads stored evidence (a JSON array, unless its cap cut
// it) into at most maxListedEvidence clipped lines, the last saying how
// many more there are.
func listedEvidence(raw string) []string {
	var ev []string
	if err := json.Unmarshal([]byte(raw), &ev); err != nil {
		ev = []string{raw}
	}
	if len(ev) > maxListedEvidence {
		more := len(ev) - (maxListedEvidence - 1)
		ev = append(ev[:maxListedEvidence-1], fmt.Sprintf("… %d more", more))
	}
	for i := range ev {
		ev[i] = factory.Clip(ev[i], maxListedText)
	}
	return ev
}

// commonHistory adds the filters every history kind has: the run, the
// time (created at or after Since), the keyset cursor on (created, id)
// when idCol is set, and Text as substrings of textCols, every word in
// one of them.
func commonHistory(wh *where, q Query, cur *cursor, runCol, createdCol, idCol string, textCols ...string) {
	if q.RunID != "" {
		wh.add(runCol+" = ?", q.RunID)
	}
	if !q.Since.IsZero() {
		wh.add(createdCol+" >= ?", nanos(q.Since))
	}
	if cur != nil && idCol != "" {
		wh.add("("+createdCol+", "+idCol+") < (?, ?)", cur.Started, cur.ID)
	}
	if ws := words(q.Text); len(ws) > 0 {
		cols := make([]string, len(textCols))
		for i, c := range textCols {
			cols[i] = "coalesce(" + c + ", '')"
		}
		likeAll(wh, ws, strings.Join(cols, " || ' ' || "))
	}
}
