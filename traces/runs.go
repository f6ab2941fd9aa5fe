package traces

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/factory-dev/factory"
)

// StartRun records a new run. An empty ID gets "r-" and 10 random
// characters; a zero Started gets the current time. Steps and Failed are
// ignored. It returns the run as stored, EINVALID for an ID that is taken,
// and EUNAVAILABLE after Close.
func (s *Store) StartRun(ctx context.Context, r factory.Run) (factory.Run, error) {
	if r.ID == "" {
		r.ID = factory.NewID("r-")
	}
	if r.Started.IsZero() {
		r.Started = time.Now()
	}
	r.Started = r.Started.UTC()
	r.Name = clean(r.Name, maxShort, false)
	r.Workflow = capText(r.Workflow, maxShort)
	r.Client = capText(r.Client, maxShort)
	r.Steps, r.Failed = 0, 0
	err := s.write(func(w *wtx) error {
		_, err := w.exec(stInsRun, r.ID, r.Name, r.Workflow, r.Client, r.Root, nanos(r.Started), nanos(r.Ended))
		return uniqueErr(err, "run", r.ID)
	})
	if err != nil {
		return factory.Run{}, factory.Wrap("start run", err)
	}
	return r, nil
}

// EndRun sets the end time of run id (now, if ended is zero). It returns
// ENOTFOUND for an unknown run.
func (s *Store) EndRun(ctx context.Context, id string, ended time.Time) error {
	if ended.IsZero() {
		ended = time.Now()
	}
	err := s.write(func(w *wtx) error {
		res, err := w.exec(stEndRun, nanos(ended), id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return factory.Errorf(factory.ENOTFOUND, "run %q not found", id)
		}
		return nil
	})
	return factory.Wrap("end run", err)
}

// prepareStep fills defaults and redacts and caps a step's text. It
// reports whether it made up the step's id.
func prepareStep(st *factory.Step) (generated bool, err error) {
	if st.RunID == "" {
		return false, factory.Errorf(factory.EINVALID, "a step needs a run id")
	}
	if st.Started.IsZero() {
		st.Started = time.Now()
	}
	if st.ID == "" {
		st.ID, generated = factory.NewStepID(st.Started), true
	}
	st.Started = st.Started.UTC()
	if st.Status == "" {
		st.Status = factory.StepOK
		if st.Error != "" {
			st.Status = factory.StepError
		}
	}
	st.Args = clean(st.Args, maxSummary, true)
	st.Result = clean(st.Result, maxSummary, false)
	st.Error = clean(st.Error, maxSummary, false)
	return generated, nil
}

// RecordStep records a finished step in one write. An empty Status means
// ok, or error when Error is set. An empty ID gets "st-" and 18
// time-ordered and random characters; a zero Started gets the current time.
// Args is redacted (redact.JSON), Result and Error redacted (redact.Text), each
// capped at 4 KiB before storage.
//
// RecordStep appends the step to the step journal (see the package doc)
// and returns: the step then survives a kill -9 of the process, and
// commits within about 50 ms; reads by this Store see it at once. Because the insert comes later, a caller's
// ID that is already taken is not reported: the step stored first keeps
// the id, the later one is dropped with a logged warning. When the journal
// cannot be written (a full disk), RecordStep falls back to waiting for
// its commit and then returns EINVALID for a taken ID.
//
// A cancelled ctx does not stop it: a cancelled request is recorded too.
// It returns the step as stored, EINVALID without a RunID, and
// EUNAVAILABLE after Close.
func (s *Store) RecordStep(ctx context.Context, st factory.Step) (factory.Step, error) {
	gen, err := prepareStep(&st)
	if err != nil {
		return factory.Step{}, factory.Wrap("record step", err)
	}
	if s.jr != nil && s.journalStep(&st) {
		return st, nil
	}
	stored := st // on the heap only on this path: RecordStep runs once per request
	if err := s.write(func(w *wtx) error { return s.insertStep(w, &stored, gen) }); err != nil {
		return factory.Step{}, factory.Wrap("record step", err)
	}
	return stored, nil
}

// insertStep inserts st. An id that insertStep's caller generated is drawn
// again if it is taken (a failed INSERT leaves the transaction usable).
func (s *Store) insertStep(w *wtx, st *factory.Step, generated bool) error {
	var res sql.Result
	var err error
	for try := 0; ; try++ {
		res, err = w.exec(stInsStep, st.ID, st.RunID, st.ParentID, st.RequestID, st.Method, st.Tool,
			st.Args, st.Result, st.Status, st.Error, nanos(st.Started), int64(st.Duration),
			st.TraceID, st.SpanID)
		if err == nil {
			break
		}
		if generated && try < 3 && isUnique(err) {
			st.ID = factory.NewStepID(time.Now())
			continue
		}
		return uniqueErr(err, "step", st.ID)
	}
	if !s.fts {
		return nil
	}
	seq, err := res.LastInsertId()
	if err != nil {
		return err
	}
	return s.markPending(w, seq)
}

// markPending queues the new step seq for full-text indexing (see
// ftsSchema). A step already queued keeps its flag.
func (s *Store) markPending(w *wtx, seq int64) error {
	res, err := w.exec(stPending, seq)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n > 0 {
		w.pending++
	}
	return nil
}

// AddMessage records a message. Text is redacted and capped at 64 KiB; an
// empty Kind means observation; a zero Created gets the current time. It
// returns the message with its ID, and EINVALID without a RunID or text.
func (s *Store) AddMessage(ctx context.Context, m factory.Message) (factory.Message, error) {
	if m.RunID == "" {
		return factory.Message{}, factory.Errorf(factory.EINVALID, "add message: no run id")
	}
	if strings.TrimSpace(m.Text) == "" {
		return factory.Message{}, factory.Errorf(factory.EINVALID, "add message: the text is empty")
	}
	if m.Kind == "" {
		m.Kind = factory.NoteObservation
	}
	if m.Created.IsZero() {
		m.Created = time.Now()
	}
	m.Created = m.Created.UTC()
	m.Kind = capText(m.Kind, maxShort)
	m.Text = clean(m.Text, maxMessage, false)
	err := s.write(func(w *wtx) error {
		res, err := w.exec(stInsMsg, m.RunID, m.StepID, m.Kind, m.Text, nanos(m.Created))
		if err != nil {
			return err
		}
		if m.ID, err = res.LastInsertId(); err != nil {
			return err
		}
		if s.fts {
			_, err = w.exec(stFTSMsg, m.ID, m.Text)
		}
		return err
	})
	if err != nil {
		return factory.Message{}, factory.Wrap("add message", err)
	}
	return m, nil
}

func isUnique(err error) bool {
	return err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed")
}

// uniqueErr turns a unique-constraint failure into EINVALID.
func uniqueErr(err error, what, id string) error {
	if isUnique(err) {
		return factory.Errorf(factory.EINVALID, "%s id %q is already taken; leave it empty to get a fresh one", what, id)
	}
	return err
}

// runsSQL adds step and failure counts to the runs that inner selects
// (every column of runs, ordered newest first). Both counts come from one
// pass over the covering index steps_run(run_id, started, id, status),
// packed in one integer (failures in the high 32 bits) because a scalar
// subquery returns one value; a join with GROUP BY would sort every step.
func runsSQL(inner string) string {
	return `SELECT r.id, r.name, r.workflow, r.client, r.root, r.started, r.ended,
		(SELECT count(*) + (coalesce(sum(status NOT IN ('ok', 'running', 'rejected')), 0) << 32) FROM steps WHERE run_id = r.id)
		FROM (` + inner + `) r ORDER BY r.started DESC, r.id DESC`
}

type scanner interface{ Scan(...any) error }

func scanRun(sc scanner) (factory.Run, error) {
	var r factory.Run
	var started, ended, counts int64
	err := sc.Scan(&r.ID, &r.Name, &r.Workflow, &r.Client, &r.Root, &started, &ended, &counts)
	r.Started, r.Ended = fromNanos(started), fromNanos(ended)
	r.Steps, r.Failed = int(counts&(1<<32-1)), int(counts>>32)
	return r, err
}

const stepCols = `s.id, s.run_id, s.parent_id, s.request_id, s.method, s.tool, s.args, s.result, s.status, s.error,
	s.started, s.duration, s.trace_id, s.span_id, s.seq`

func scanStep(sc scanner) (factory.Step, int64, error) {
	var st factory.Step
	var started, dur, seq int64
	err := sc.Scan(&st.ID, &st.RunID, &st.ParentID, &st.RequestID, &st.Method, &st.Tool, &st.Args, &st.Result,
		&st.Status, &st.Error, &started, &dur, &st.TraceID, &st.SpanID, &seq)
	st.Started, st.Duration = fromNanos(started), time.Duration(dur)
	return st, seq, err
}

const msgCols = `m.id, m.run_id, m.step_id, m.kind, m.text, m.created`

func scanMessage(sc scanner) (factory.Message, error) {
	var m factory.Message
	var created int64
	err := sc.Scan(&m.ID, &m.RunID, &m.StepID, &m.Kind, &m.Text, &created)
	m.Created = fromNanos(created)
	return m, err
}

// Runs returns up to limit runs (0 means 20), newest first, with their step
// and failure counts (Failed counts steps whose status is neither ok,
// running nor rejected: a rejection is an answer).
func (s *Store) Runs(ctx context.Context, limit int) ([]factory.Run, error) {
	if limit <= 0 {
		limit = 20
	}
	if err := s.flushQueued(); err != nil {
		return nil, factory.Wrap("list runs", err)
	}
	rows, err := s.rdb.QueryContext(ctx, runsSQL(`SELECT * FROM runs ORDER BY started DESC, id DESC LIMIT ?`), limit)
	if err != nil {
		return nil, factory.Wrap("list runs", err)
	}
	defer rows.Close()
	var runs []factory.Run
	for rows.Next() {
		r, err := scanRun(rows)
		if err != nil {
			return nil, factory.Wrap("list runs", err)
		}
		runs = append(runs, r)
	}
	return runs, factory.Wrap("list runs", rows.Err())
}

// resolveRun turns "latest", a full id or a unique prefix into a run id.
// It returns ENOTFOUND when nothing matches and EINVALID when a prefix
// matches several runs.
func resolveRun(ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, id string) (string, error) {
	var query string
	var args []any
	switch {
	case id == "":
		return "", factory.Errorf(factory.EINVALID, "no run id given; pass an id, a prefix of one, or \"latest\"")
	case id == "latest":
		query = `SELECT id FROM runs ORDER BY started DESC, id DESC LIMIT 1`
	default:
		// Exact match first, then the ids that start with id (ids are
		// ASCII, so the range [id, id+"\x7f") holds exactly those).
		query = `SELECT id FROM runs WHERE id = ?1
			UNION ALL SELECT * FROM (SELECT id FROM runs WHERE id > ?1 AND id < ?2 ORDER BY id LIMIT 2)`
		args = []any{id, id + "\x7f"}
	}
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return "", err
		}
		ids = append(ids, s)
	}
	if err := rows.Err(); err != nil {
		return "", err
	}
	switch {
	case len(ids) == 0:
		return "", factory.Errorf(factory.ENOTFOUND, "run %q not found; list runs with trace_query kind=runs", id)
	case ids[0] == id || len(ids) == 1:
		return ids[0], nil
	default:
		return "", factory.Errorf(factory.EINVALID, "run prefix %q matches several runs (%s, %s...); give more characters", id, ids[0], ids[1])
	}
}

// Run returns one run with all its steps and messages, oldest first. id is
// a run id, a unique prefix of one, or "latest". It returns ENOTFOUND when
// no run matches and EINVALID for an empty id or an ambiguous prefix.
func (s *Store) Run(ctx context.Context, id string) (factory.Run, []factory.Step, []factory.Message, error) {
	const op = "read run"
	if err := s.flushQueued(); err != nil {
		return factory.Run{}, nil, nil, factory.Wrap(op, err)
	}
	tx, err := s.rdb.BeginTx(ctx, nil) // one read transaction: a consistent view
	if err != nil {
		return factory.Run{}, nil, nil, factory.Wrap(op, err)
	}
	defer tx.Rollback()
	rid, err := resolveRun(ctx, tx, id)
	if err != nil {
		return factory.Run{}, nil, nil, factory.Wrap(op, err)
	}
	r, err := scanRun(tx.QueryRowContext(ctx, runsSQL(`SELECT * FROM runs WHERE id = ?`), rid))
	if err != nil {
		return factory.Run{}, nil, nil, factory.Wrap(op, err)
	}
	rows, err := tx.QueryContext(ctx, `SELECT `+stepCols+` FROM steps s WHERE s.run_id = ? ORDER BY s.started, s.id`, rid)
	if err != nil {
		return factory.Run{}, nil, nil, factory.Wrap(op, err)
	}
	var steps []factory.Step
	for rows.Next() {
		st, _, err := scanStep(rows)
		if err != nil {
			rows.Close()
			return factory.Run{}, nil, nil, factory.Wrap(op, err)
		}
		steps = append(steps, st)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return factory.Run{}, nil, nil, factory.Wrap(op, err)
	}
	rows, err = tx.QueryContext(ctx, `SELECT `+msgCols+` FROM messages m WHERE m.run_id = ? ORDER BY m.created, m.id`, rid)
	if err != nil {
		return factory.Run{}, nil, nil, factory.Wrap(op, err)
	}
	defer rows.Close()
	var msgs []factory.Message
	for rows.Next() {
		m, err := scanMessage(rows)
		if err != nil {
			return factory.Run{}, nil, nil, factory.Wrap(op, err)
		}
		msgs = append(msgs, m)
	}
	if err := rows.Err(); err != nil {
		return factory.Run{}, nil, nil, factory.Wrap(op, err)
	}
	return r, steps, msgs, nil
}
