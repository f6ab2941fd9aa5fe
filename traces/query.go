package traces

import (
	"context"
	"database/sql"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/factory-dev/factory"
)

// Query kinds.
const (
	KindSteps    = "steps"
	KindRuns     = "runs"
	KindMessages = "messages"
)

// Query filters the run log. Zero fields do not filter.
type Query struct {
	Kind   string    // "steps" (default), "runs", "messages", "snapshots", "test_runs", "verdicts"
	RunID  string    // a run id, a unique prefix of one, or "latest"
	Tool   string    // steps only: exact tool name
	Status string    // steps (ok, tool_error, error, cancelled), test_runs (pass, fail, error, timeout), verdicts (pass, fail, error, skipped)
	Since  time.Time // started (created, for the other kinds) at or after
	Text   string    // full text: every word must appear (see Store.Query)
	Limit  int       // 0 = 20, max 100
	Cursor string    // opaque, from a previous Page.Next
}

// Page is one page of a query's results, newest first. Next, when set,
// fetches the following page.
type Page struct {
	Runs      []factory.Run      `json:"runs,omitempty"`
	Steps     []factory.Step     `json:"steps,omitempty"`
	Messages  []factory.Message  `json:"messages,omitempty"`
	Snapshots []factory.Snapshot `json:"snapshots,omitempty"`
	TestRuns  []TestRunSummary   `json:"test_runs,omitempty"`
	Verdicts  []VerdictRecord    `json:"verdicts,omitempty"`
	Next      string             `json:"next,omitempty"`
}

const (
	defaultLimit = 20
	maxLimit     = 100
)

// cursor is a position in a result list: the last row returned. Started
// and ID are the keyset of the ordered index; Seq is the row's insertion
// number, which orders FTS5 results.
type cursor struct {
	Kind    string
	Started int64
	ID      string
	Seq     int64
}

func (c cursor) encode() string {
	raw := strings.Join([]string{"c1", c.Kind, strconv.FormatInt(c.Started, 10), strconv.FormatInt(c.Seq, 10), c.ID}, "|")
	return base64.RawURLEncoding.EncodeToString([]byte(raw))
}

func decodeCursor(s, kind string) (cursor, error) {
	bad := factory.Errorf(factory.EINVALID, "cursor %q is not one this run log returned; pass the next value of a previous result, or no cursor for the first page", s)
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return cursor{}, bad
	}
	parts := strings.SplitN(string(raw), "|", 5)
	if len(parts) != 5 || parts[0] != "c1" {
		return cursor{}, bad
	}
	c := cursor{Kind: parts[1], ID: parts[4]}
	if c.Started, err = strconv.ParseInt(parts[2], 10, 64); err != nil {
		return cursor{}, bad
	}
	if c.Seq, err = strconv.ParseInt(parts[3], 10, 64); err != nil {
		return cursor{}, bad
	}
	if c.Kind != kind {
		return cursor{}, factory.Errorf(factory.EINVALID, "this cursor pages a %s query, not a %s query", c.Kind, kind)
	}
	return c, nil
}

// Query returns one page of runs, steps, messages, snapshots, test runs or
// verdicts, newest first (by start or creation time; full-text matches by
// insertion order, which is the same order except for steps recorded with
// an old start time). Pages are
// keyset-paginated: a page is as fast at the millionth row as at the
// first, and rows inserted meanwhile do not shift later pages.
//
// Text matches rows containing every word of Text: in a step's tool, args,
// result or error, in a message's text, in a run's name, workflow or
// client, in a snapshot's id or label, in a test run's suite or the name or
// package of one of its failing tests, in a verdict's invariant or
// message (those three kinds match substrings, as without FTS5). A listed
// test run carries at most 20 failing tests, a listed verdict at most 10
// evidence lines, each cut at 300 bytes. With FTS5 (Store.FTS) words match whole tokens, and a word ending
// in * matches as a prefix of at least 3 characters (a shorter one is
// EINVALID); without it, words match as case-insensitive substrings.
//
// Steps are indexed for full text behind the writes (see ftsSchema); a
// text query first indexes the steps this process wrote, so it sees them
// all. Steps written by another process sharing the file become searchable
// when that process indexes them, within about 200 ms. Without FTS5 a text
// query scans: fine for thousands of steps, slow for millions.
//
// It returns EINVALID for an unknown kind, a bad cursor, a negative limit,
// a prefix too short or a filter the kind does not have (tool is for
// steps; status for steps, test runs and verdicts), and ENOTFOUND for a
// RunID that matches no run.
func (s *Store) Query(ctx context.Context, q Query) (Page, error) {
	const op = "query run log"
	if q.Kind == "" {
		q.Kind = KindSteps
	}
	switch q.Kind {
	case KindSteps, KindRuns, KindMessages, KindSnapshots, KindTestRuns, KindVerdicts:
	default:
		return Page{}, factory.Errorf(factory.EINVALID, "%s: unknown kind %q; use steps, runs, messages, snapshots, test_runs or verdicts", op, q.Kind)
	}
	if err := kindFilters(q); err != nil {
		return Page{}, factory.Wrap(op, err)
	}
	switch {
	case q.Limit < 0:
		return Page{}, factory.Errorf(factory.EINVALID, "%s: limit %d is negative", op, q.Limit)
	case q.Limit == 0:
		q.Limit = defaultLimit
	case q.Limit > maxLimit:
		q.Limit = maxLimit
	}
	for name, v := range map[string]string{"text": q.Text, "run": q.RunID, "tool": q.Tool, "status": q.Status, "cursor": q.Cursor} {
		if strings.ContainsRune(v, 0) {
			return Page{}, factory.Errorf(factory.EINVALID, "%s: %s holds a NUL byte; search for printable words", op, name)
		}
	}
	for _, w := range words(q.Text) {
		if p, ok := shortPrefix(w); ok {
			return Page{}, factory.Errorf(factory.EINVALID, "%s: the prefix %q is too short: give at least %d letters or digits before *, or the whole word", op, p+"*", minPrefix)
		}
	}
	var cur *cursor
	if q.Cursor != "" {
		c, err := decodeCursor(q.Cursor, q.Kind)
		if err != nil {
			return Page{}, factory.Wrap(op, err)
		}
		cur = &c
	}
	if q.RunID != "" {
		id, err := resolveRun(ctx, s.rdb, q.RunID)
		if err != nil {
			return Page{}, factory.Wrap(op, err)
		}
		q.RunID = id
	}
	if err := s.flushQueued(); err != nil { // read this process's own writes
		return Page{}, factory.Wrap(op, err)
	}
	if q.Kind == KindSteps && len(words(q.Text)) > 0 {
		if err := s.indexSteps(); err != nil { // search what was written before the query
			return Page{}, factory.Wrap(op, err)
		}
	}
	var page Page
	var err error
	switch q.Kind {
	case KindSteps:
		page, err = s.querySteps(ctx, q, cur)
	case KindMessages:
		page, err = s.queryMessages(ctx, q, cur)
	case KindRuns:
		page, err = s.queryRuns(ctx, q, cur)
	case KindSnapshots:
		page, err = s.querySnapshots(ctx, q, cur)
	case KindTestRuns:
		page, err = s.queryTestRuns(ctx, q, cur)
	case KindVerdicts:
		page, err = s.queryVerdicts(ctx, q, cur)
	}
	return page, factory.Wrap(op, err)
}

// where accumulates SQL conditions and their arguments.
type where struct {
	conds []string
	args  []any
}

func (w *where) add(cond string, args ...any) {
	w.conds = append(w.conds, cond)
	w.args = append(w.args, args...)
}

func (w *where) sql() string {
	if len(w.conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(w.conds, " AND ")
}

// words splits full-text input into words.
func words(text string) []string {
	return strings.FieldsFunc(text, unicode.IsSpace)
}

// minPrefix is the shortest prefix a text query may end a word with
// ("snap*"). The index holds prefixes of 3, 4 and 5 characters (see
// ftsSchema), so those are one look-up; a longer prefix matches few enough
// words to merge their lists quickly. A shorter one would merge the lists
// of most of the vocabulary: a tenth of a second on a million steps.
const minPrefix = 3

// shortPrefix reports the prefix of a word ending in * when it is shorter
// than minPrefix. The prefix is the word's last token as FTS5 splits it
// (on anything but letters and digits): "x.go*" is "go*".
func shortPrefix(w string) (string, bool) {
	if !strings.HasSuffix(w, "*") {
		return "", false
	}
	w = strings.TrimRight(w, "*")
	last := w[strings.LastIndexFunc(w, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })+1:]
	return last, utf8.RuneCountInString(last) < minPrefix
}

// ftsQuery turns words into an FTS5 query that cannot be a syntax error:
// each word is a quoted phrase (so punctuation inside it only separates
// tokens), a trailing * makes it a prefix query, and words are ANDed.
func ftsQuery(ws []string) string {
	parts := make([]string, 0, len(ws))
	for _, w := range ws {
		prefix := strings.HasSuffix(w, "*")
		w = strings.TrimRight(w, "*")
		if w == "" {
			continue
		}
		p := `"` + strings.ReplaceAll(w, `"`, `""`) + `"`
		if prefix {
			p += "*"
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, " AND ")
}

// likeArg makes a LIKE pattern matching w as a substring.
func likeArg(w string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + r.Replace(w) + "%"
}

// likeAll adds, for each word, a condition that some column contains it.
func likeAll(wh *where, ws []string, cols ...string) {
	for _, w := range ws {
		w = strings.TrimRight(w, "*") // prefix syntax of FTS5; substrings match anyway
		if w == "" {
			continue
		}
		arg := likeArg(w)
		ors := make([]string, len(cols))
		for i, c := range cols {
			ors[i] = c + ` LIKE ? ESCAPE '\'`
			wh.args = append(wh.args, arg)
		}
		wh.conds = append(wh.conds, "("+strings.Join(ors, " OR ")+")")
	}
}

// stepsSQL builds the query for a page of steps (Limit+1 rows, to know
// whether there is a next page).
func (s *Store) stepsSQL(q Query, cur *cursor) (string, []any) {
	var wh where
	if q.RunID != "" {
		wh.add("s.run_id = ?", q.RunID)
	}
	// With a run, the run's index (which holds status) is the one to read:
	// a run has thousands of steps at most, while a tool or status may have
	// hundreds of thousands. The unary + keeps SQLite from choosing theirs.
	plus := ""
	if q.RunID != "" {
		plus = "+"
	}
	if q.Tool != "" {
		wh.add(plus+"s.tool = ?", q.Tool)
	}
	if q.Status != "" {
		wh.add(plus+"s.status = ?", q.Status)
	}
	if !q.Since.IsZero() {
		wh.add("s.started >= ?", nanos(q.Since))
	}
	ws := words(q.Text)
	var query string
	useFTS := len(ws) > 0 && s.fts && ftsQuery(ws) != ""
	if useFTS {
		// Drive from the FTS5 index in rowid order (newest inserted first):
		// it stops after limit matches however common the words are.
		// CROSS JOIN keeps SQLite from starting at steps instead.
		wh.add("steps_fts MATCH ?", ftsQuery(ws))
		if cur != nil {
			wh.add("steps_fts.rowid < ?", cur.Seq)
		}
		query = `SELECT ` + stepCols + ` FROM steps_fts CROSS JOIN steps s ON s.seq = steps_fts.rowid` +
			wh.sql() + ` ORDER BY steps_fts.rowid DESC LIMIT ?`
	} else {
		if len(ws) > 0 {
			likeAll(&wh, ws, "s.tool", "s.args", "s.result", "s.error")
		}
		if cur != nil {
			wh.add("(s.started, s.id) < (?, ?)", cur.Started, cur.ID)
		}
		query = `SELECT ` + stepCols + ` FROM steps s` + wh.sql() + ` ORDER BY s.started DESC, s.id DESC LIMIT ?`
	}
	return query, append(wh.args, q.Limit+1)
}

func (s *Store) querySteps(ctx context.Context, q Query, cur *cursor) (Page, error) {
	query, args := s.stepsSQL(q, cur)
	rows, err := s.rdb.QueryContext(ctx, query, args...)
	if err != nil {
		return Page{}, err
	}
	var page Page
	page.Steps, page.Next, err = collect(rows, q.Limit, func(sc scanner) (factory.Step, cursor, error) {
		st, seq, err := scanStep(sc)
		return st, cursor{Kind: KindSteps, Started: nanos(st.Started), ID: st.ID, Seq: seq}, err
	})
	return page, err
}

// collect reads up to limit rows with scan, closing rows. When a row beyond
// limit exists, next is the cursor of the last row kept: the next page
// starts after it.
func collect[T any](rows *sql.Rows, limit int, scan func(scanner) (T, cursor, error)) (items []T, next string, err error) {
	defer rows.Close()
	var last cursor
	for rows.Next() {
		item, c, err := scan(rows)
		if err != nil {
			return nil, "", err
		}
		if len(items) == limit {
			return items, last.encode(), nil
		}
		items = append(items, item)
		last = c
	}
	return items, "", rows.Err()
}

func (s *Store) queryMessages(ctx context.Context, q Query, cur *cursor) (Page, error) {
	var wh where
	if q.RunID != "" {
		wh.add("m.run_id = ?", q.RunID)
	}
	if !q.Since.IsZero() {
		wh.add("m.created >= ?", nanos(q.Since))
	}
	ws := words(q.Text)
	var query string
	if len(ws) > 0 && s.fts && ftsQuery(ws) != "" {
		wh.add("messages_fts MATCH ?", ftsQuery(ws))
		if cur != nil {
			wh.add("messages_fts.rowid < ?", cur.Seq)
		}
		query = `SELECT ` + msgCols + ` FROM messages_fts CROSS JOIN messages m ON m.id = messages_fts.rowid` +
			wh.sql() + ` ORDER BY messages_fts.rowid DESC LIMIT ?`
	} else {
		if len(ws) > 0 {
			likeAll(&wh, ws, "m.text")
		}
		if cur != nil {
			wh.add("(m.created, m.id) < (?, ?)", cur.Started, cur.Seq)
		}
		query = `SELECT ` + msgCols + ` FROM messages m` + wh.sql() + ` ORDER BY m.created DESC, m.id DESC LIMIT ?`
	}
	rows, err := s.rdb.QueryContext(ctx, query, append(wh.args, q.Limit+1)...)
	if err != nil {
		return Page{}, err
	}
	var page Page
	page.Messages, page.Next, err = collect(rows, q.Limit, func(sc scanner) (factory.Message, cursor, error) {
		m, err := scanMessage(sc)
		return m, cursor{Kind: KindMessages, Started: nanos(m.Created), ID: fmt.Sprint(m.ID), Seq: m.ID}, err
	})
	return page, err
}

func (s *Store) queryRuns(ctx context.Context, q Query, cur *cursor) (Page, error) {
	var wh where
	if q.RunID != "" {
		wh.add("r.id = ?", q.RunID)
	}
	if !q.Since.IsZero() {
		wh.add("r.started >= ?", nanos(q.Since))
	}
	if ws := words(q.Text); len(ws) > 0 {
		likeAll(&wh, ws, "r.name", "r.workflow", "r.client", "r.id")
	}
	if cur != nil {
		wh.add("(r.started, r.id) < (?, ?)", cur.Started, cur.ID)
	}
	rows, err := s.rdb.QueryContext(ctx, runsSQL(`SELECT * FROM runs r`+wh.sql()+` ORDER BY r.started DESC, r.id DESC LIMIT ?`),
		append(wh.args, q.Limit+1)...)
	if err != nil {
		return Page{}, err
	}
	var page Page
	page.Runs, page.Next, err = collect(rows, q.Limit, func(sc scanner) (factory.Run, cursor, error) {
		r, err := scanRun(sc)
		return r, cursor{Kind: KindRuns, Started: nanos(r.Started), ID: r.ID}, err
	})
	return page, err
}
