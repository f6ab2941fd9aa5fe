package traces

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/factory-dev/factory"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestGeneratedStepIDIsDrawnAgainWhenTaken(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, Config{Path: filepath.Join(t.TempDir(), "f.db")})
	require.NoError(t, err)
	defer s.Close()
	taken, err := s.RecordStep(ctx, factory.Step{RunID: "r-1", Tool: "a"})
	require.NoError(t, err)

	st := factory.Step{ID: taken.ID, RunID: "r-1", Tool: "b", Status: factory.StepOK, Started: time.Now()}
	require.NoError(t, s.write(func(w *wtx) error { return s.insertStep(w, &st, true) }))
	assert.NotEqual(t, taken.ID, st.ID)
	assert.True(t, strings.HasPrefix(st.ID, "st-"))

	// A caller's own id is never replaced: without the journal,
	// RecordStep reports it taken.
	st = factory.Step{ID: taken.ID, RunID: "r-1", Tool: "c", Status: factory.StepOK, Started: time.Now()}
	assert.Equal(t, factory.EINVALID, factory.ErrorCode(s.write(func(w *wtx) error { return s.insertStep(w, &st, false) })))
	assert.Equal(t, taken.ID, st.ID)
}

func TestCapText(t *testing.T) {
	assert.Equal(t, "short", capText("short", 10))
	long := strings.Repeat("ü", 3000) // 6000 bytes
	got := capText(long, 4096)
	assert.LessOrEqual(t, len(got), 4096)
	assert.Contains(t, got, "6000 bytes in all")
	assert.True(t, strings.HasPrefix(got, "üü"))
}

// TestQueryPlansUseIndexes checks with EXPLAIN QUERY PLAN that every step
// query shape reads an index in the order it returns rows: no full scan of
// steps, no sort of the matches (either would make a page cost O(log size)
// no longer).
func TestQueryPlansUseIndexes(t *testing.T) {
	for _, noFTS := range []bool{false, true} {
		ctx := context.Background()
		s, err := Open(ctx, Config{Path: filepath.Join(t.TempDir(), "f.db"), noFTS: noFTS})
		require.NoError(t, err)
		defer s.Close()
		// A little data and ANALYZE-free planning, as in a fresh run log.
		for i := range 50 {
			_, err := s.RecordStep(ctx, factory.Step{RunID: "r-1", Tool: "t", Args: `{"i":1}`, Started: time.Now().Add(time.Duration(i))})
			require.NoError(t, err)
		}
		cur := &cursor{Kind: KindSteps, Started: time.Now().UnixNano(), ID: "st-x", Seq: 10}
		since := time.Now().Add(-time.Hour)
		for name, c := range map[string]struct {
			q     Query
			cur   *cursor
			index string
		}{
			"all":          {Query{Limit: 20}, nil, "steps_started"},
			"all page 2":   {Query{Limit: 20}, cur, "steps_started"},
			"run":          {Query{RunID: "r-1", Limit: 20}, cur, "steps_run"},
			"tool":         {Query{Tool: "t", Limit: 20}, cur, "steps_tool"},
			"status":       {Query{Status: "ok", Limit: 20}, cur, "steps_status"},
			"since":        {Query{Since: since, Limit: 20}, cur, "steps_started"},
			"tool + since": {Query{Tool: "t", Since: since, Limit: 20}, nil, "steps_tool"},
			"run + status": {Query{RunID: "r-1", Status: "error", Limit: 20}, cur, "steps_run"},
			"run + tool":   {Query{RunID: "r-1", Tool: "t", Limit: 20}, nil, "steps_run"},
		} {
			query, args := s.stepsSQL(c.q, c.cur)
			plan := explain(t, s, query, args)
			assert.Contains(t, plan, "USING INDEX "+c.index, "%s: %s", name, plan)
			assert.NotContains(t, plan, "TEMP B-TREE", "%s: %s", name, plan)
			assert.NotContains(t, plan+";", "SCAN s ;", "%s: a full scan: %s", name, plan)
			assert.NotContains(t, plan, "SCAN s; ", "%s: a full scan: %s", name, plan)
		}
		runs := explain(t, s, runsSQL(`SELECT * FROM runs ORDER BY started DESC, id DESC LIMIT ?`), []any{20})
		assert.Contains(t, runs, "USING COVERING INDEX steps_run", runs)
		assert.NotContains(t, runs, "FOR GROUP BY", runs)
		query, args := s.stepsSQL(Query{Text: "word", Limit: 20}, cur)
		plan := explain(t, s, query, args)
		assert.NotContains(t, plan, "TEMP B-TREE", plan)
		if s.FTS() {
			assert.Contains(t, plan, "VIRTUAL TABLE INDEX", plan)
			assert.Contains(t, plan, "USING INTEGER PRIMARY KEY", plan)
		}
	}
}

func explain(t *testing.T, s *Store, query string, args []any) string {
	t.Helper()
	rows, err := s.rdb.Query("EXPLAIN QUERY PLAN "+query, args...)
	require.NoError(t, err)
	defer rows.Close()
	var lines []string
	for rows.Next() {
		var id, parent, notused int
		var detail string
		require.NoError(t, rows.Scan(&id, &parent, &notused, &detail))
		lines = append(lines, detail)
	}
	return strings.Join(lines, "; ") + " "
}

func TestStepsAreIndexedBehindTheWrites(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, Config{Path: filepath.Join(t.TempDir(), "f.db")})
	require.NoError(t, err)
	defer s.Close()
	if !s.FTS() {
		t.Skip("needs -tags sqlite_fts5")
	}
	for i := range 10 {
		_, err := s.RecordStep(ctx, factory.Step{RunID: "r-1", Tool: "t", Result: fmt.Sprint("zebra ", i)})
		require.NoError(t, err)
	}
	// Nobody reads: the journaled steps commit by themselves (asyncDelay),
	// and the scheduled indexer empties fts_pending by itself.
	require.Eventually(t, func() bool {
		var n int
		require.NoError(t, s.rdb.QueryRow(`SELECT count(*) FROM steps`).Scan(&n))
		return n == 10
	}, 5*time.Second, time.Millisecond)
	require.Eventually(t, func() bool {
		var n int
		require.NoError(t, s.rdb.QueryRow(`SELECT count(*) FROM fts_pending`).Scan(&n))
		return n == 0 && s.ftsPending.Load() == 0
	}, 5*time.Second, 10*time.Millisecond)
	var n int
	require.NoError(t, s.rdb.QueryRow(`SELECT count(*) FROM steps_fts WHERE steps_fts MATCH 'zebra'`).Scan(&n))
	assert.Equal(t, 10, n)
}

func TestPendingStepsAndOldIndexesAreIndexedAtOpen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "f.db")
	s, err := Open(ctx, Config{Path: path})
	require.NoError(t, err)
	if !s.FTS() {
		s.Close()
		t.Skip("needs -tags sqlite_fts5")
	}
	for i := range 5 {
		_, err := s.RecordStep(ctx, factory.Step{RunID: "r-1", Tool: "t", Result: fmt.Sprint("okapi ", i)})
		require.NoError(t, err)
	}
	require.NoError(t, s.Close())
	search := func() int {
		s, err := Open(ctx, Config{Path: path})
		require.NoError(t, err)
		defer s.Close()
		var n int
		require.NoError(t, s.rdb.QueryRow(`SELECT count(*) FROM steps_fts WHERE steps_fts MATCH 'okapi'`).Scan(&n))
		return n
	}

	// A crash between a step's commit and its indexing: the index lacks
	// the steps, fts_pending still lists them.
	db, err := sql.Open("sqlite3", path)
	require.NoError(t, err)
	_, err = db.Exec(`INSERT INTO steps_fts(steps_fts) VALUES('delete-all'); INSERT INTO fts_pending(seq, indexed) SELECT seq, 0 FROM steps`)
	require.NoError(t, err)
	require.NoError(t, db.Close())
	assert.Equal(t, 5, search(), "indexed at open")

	// An index made by an older definition is replaced.
	db, err = sql.Open("sqlite3", path)
	require.NoError(t, err)
	_, err = db.Exec(`DROP TABLE steps_fts; CREATE VIRTUAL TABLE steps_fts USING fts5(tool, args, result, error, content='steps', content_rowid='seq')`)
	require.NoError(t, err)
	require.NoError(t, db.Close())
	assert.Equal(t, 5, search(), "rebuilt at open")

	// So is the previous one, without prefix indexes.
	db, err = sql.Open("sqlite3", path)
	require.NoError(t, err)
	_, err = db.Exec(`DROP TABLE steps_fts; CREATE VIRTUAL TABLE steps_fts USING fts5(tool, args, result, error, content='', contentless_delete=1)`)
	require.NoError(t, err)
	require.NoError(t, db.Close())
	assert.Equal(t, 5, search(), "rebuilt at open")
	db, err = sql.Open("sqlite3", path)
	require.NoError(t, err)
	defer db.Close()
	var def string
	require.NoError(t, db.QueryRow(`SELECT sql FROM sqlite_master WHERE name = 'steps_fts'`).Scan(&def))
	assert.Contains(t, def, "prefix='3 4 5'")
}

func TestRecordedStepCommitsWithoutAnotherWrite(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "f.db")
	s, err := Open(ctx, Config{Path: path})
	require.NoError(t, err)
	st, err := s.RecordStep(ctx, factory.Step{RunID: "r-1", Tool: "long"})
	require.NoError(t, err)
	raw, err := sql.Open("sqlite3", path)
	require.NoError(t, err)
	defer raw.Close()
	// No other write, no read through s: the queued insert commits by itself.
	require.Eventually(t, func() bool {
		var n int
		require.NoError(t, raw.QueryRow(`SELECT count(*) FROM steps WHERE id = ?`, st.ID).Scan(&n))
		return n == 1
	}, 5*time.Second, 5*time.Millisecond)

	// Queued at Close: committed by Close.
	st2, err := s.RecordStep(ctx, factory.Step{RunID: "r-1", Tool: "at-close"})
	require.NoError(t, err)
	require.NoError(t, s.Close())
	var n int
	require.NoError(t, raw.QueryRow(`SELECT count(*) FROM steps WHERE id = ?`, st2.ID).Scan(&n))
	assert.Equal(t, 1, n)
	_, err = s.RecordStep(ctx, factory.Step{RunID: "r-1"})
	assert.Equal(t, factory.EUNAVAILABLE, factory.ErrorCode(err))
}

// Every write reaches the database through wtx.exec, queryRow or execSQL,
// which scrub their arguments: a write method that called the transaction
// or a statement directly could store a secret.
func TestWritesGoThroughScrub(t *testing.T) {
	files, err := filepath.Glob("*.go")
	require.NoError(t, err)
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		require.NoError(t, err)
		for _, direct := range []string{"w.tx.ExecContext(", "w.tx.PrepareContext(", ").QueryRowContext(w.ctx", ").ExecContext(w.ctx"} {
			n := strings.Count(string(src), direct)
			if f == "store.go" && (direct == "w.tx.ExecContext(" || direct == ").QueryRowContext(w.ctx" || direct == ").ExecContext(w.ctx") {
				n-- // the wrappers themselves
			}
			assert.Zero(t, n, "%s calls %s directly; use w.exec, w.queryRow or w.execSQL", f, direct)
		}
	}
}
