package traces_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/factory-dev/factory"
	"github.com/factory-dev/factory/traces"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Fake credentials in the shapes the redactor knows (package redact has the rest).
const (
	awsKeyID = "AKIAQ3EGRIRNX7KMPV2D"
	ghToken  = "ghp_4bX9eYtq2LmZ7vKcR1sW8nJdH3fA6gUo0pQi"
)

// builtWithFTS5 is set by fts5_tag_test.go in builds with -tags sqlite_fts5.
var builtWithFTS5 bool

type opener func(context.Context, traces.Config) (*traces.Store, error)

// modes are the two full-text code paths: FTS5 (when compiled in; without
// the tag Open falls back by itself) and the LIKE fallback, forced.
func modes() []struct {
	name string
	open opener
	fts  bool
} {
	return []struct {
		name string
		open opener
		fts  bool
	}{
		{"default", traces.Open, builtWithFTS5},
		{"fallback", traces.OpenFallback, false},
	}
}

func openAt(t testing.TB, open opener, path string) *traces.Store {
	t.Helper()
	s, err := open(context.Background(), traces.Config{Path: path})
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s
}

func newStore(t testing.TB, open opener) (*traces.Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "git", "factory", "factory.db")
	return openAt(t, open, path), path
}

// rawDB opens the file with plain database/sql, as an outsider would.
func rawDB(t testing.TB, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+path+"?_busy_timeout=5000")
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	return db
}

func TestDefaultPath(t *testing.T) {
	assert.Equal(t, filepath.Join("/repo/.git", "factory", "factory.db"), traces.DefaultPath("/repo/.git"))
}

func TestOpenMigratesEmptyDatabaseAndReopens(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "nested", "dir", "factory.db")
	s, err := traces.Open(ctx, traces.Config{Path: path})
	require.NoError(t, err)
	assert.Equal(t, builtWithFTS5, s.FTS())
	r, err := s.StartRun(ctx, factory.Run{Name: "first"})
	require.NoError(t, err)
	require.NoError(t, s.Close())
	require.NoError(t, s.Close(), "Close is idempotent")

	db := rawDB(t, path)
	var v int
	require.NoError(t, db.QueryRow("PRAGMA user_version").Scan(&v))
	assert.Equal(t, traces.SchemaVersion, v)
	var mode string
	require.NoError(t, db.QueryRow("PRAGMA journal_mode").Scan(&mode))
	assert.Equal(t, "wal", mode)
	for _, table := range []string{"runs", "steps", "messages", "snapshots", "blobs", "test_runs", "test_failures", "verdicts"} {
		var n int
		require.NoError(t, db.QueryRow("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?", table).Scan(&n))
		assert.Equal(t, 1, n, table)
	}
	require.NoError(t, db.Close())

	s2, err := traces.Open(ctx, traces.Config{Path: path})
	require.NoError(t, err)
	defer s2.Close()
	got, _, _, err := s2.Run(ctx, r.ID)
	require.NoError(t, err)
	assert.Equal(t, "first", got.Name)
	assert.True(t, r.Started.Equal(got.Started))
}

func TestOpenRefusesNewerSchema(t *testing.T) {
	ctx := context.Background()
	_, path := newStore(t, traces.Open)
	db := rawDB(t, path)
	_, err := db.Exec(fmt.Sprintf("PRAGMA user_version = %d", traces.SchemaVersion+1))
	require.NoError(t, err)
	_, err = traces.Open(ctx, traces.Config{Path: path})
	assert.Equal(t, factory.EUNAVAILABLE, factory.ErrorCode(err), "%v", err)
	assert.Contains(t, factory.ErrorMessage(err), "upgrade factory")

	_, err = traces.Open(ctx, traces.Config{})
	assert.Equal(t, factory.EINVALID, factory.ErrorCode(err))
}

func TestRunStepsMessagesRoundTrip(t *testing.T) {
	for _, m := range modes() {
		t.Run(m.name, func(t *testing.T) {
			ctx := context.Background()
			s, _ := newStore(t, m.open)
			assert.Equal(t, m.fts, s.FTS())
			run, err := s.StartRun(ctx, factory.Run{Name: "fix flaky test", Workflow: "forward", Client: "claude-code 2.1"})
			require.NoError(t, err)
			assert.True(t, strings.HasPrefix(run.ID, "r-"), run.ID)
			assert.False(t, run.Started.IsZero())

			t0 := time.Now().Add(-time.Minute)
			outer, err := s.RecordStep(ctx, factory.Step{RunID: run.ID, Method: "tools/call", Tool: "test_run", RequestID: "7",
				Args: `{"suite":"unit"}`, Started: t0, Status: factory.StepToolError, Result: "2 failures",
				Error: "TestParse failed", Duration: 5 * time.Second, TraceID: "0af7651916cd43dd8448eb211c80319c", SpanID: "b7ad6b7169203331"})
			require.NoError(t, err)
			assert.True(t, strings.HasPrefix(outer.ID, "st-"), outer.ID)
			inner, err := s.RecordStep(ctx, factory.Step{RunID: run.ID, ParentID: outer.ID, Method: "build", Status: factory.StepOK,
				Started: t0.Add(time.Second), Duration: 2 * time.Second})
			require.NoError(t, err)
			msg, err := s.AddMessage(ctx, factory.Message{RunID: run.ID, StepID: outer.ID, Kind: factory.NotePlan, Text: "rerun the parser tests"})
			require.NoError(t, err)
			assert.NotZero(t, msg.ID)

			got, steps, msgs, err := s.Run(ctx, run.ID[:5])
			require.NoError(t, err)
			assert.Equal(t, run.ID, got.ID)
			assert.Equal(t, "forward", got.Workflow)
			assert.Equal(t, 2, got.Steps)
			assert.Equal(t, 1, got.Failed)
			require.Len(t, steps, 2)
			assert.Equal(t, outer.ID, steps[0].ID)
			assert.Equal(t, factory.StepToolError, steps[0].Status)
			assert.Equal(t, `{"suite":"unit"}`, steps[0].Args)
			assert.Equal(t, "2 failures", steps[0].Result)
			assert.Equal(t, "b7ad6b7169203331", steps[0].SpanID)
			assert.Equal(t, 5*time.Second, steps[0].Duration)
			assert.True(t, t0.Equal(steps[0].Started))
			assert.Equal(t, inner.ID, steps[1].ID)
			assert.Equal(t, outer.ID, steps[1].ParentID)
			require.Len(t, msgs, 1)
			assert.Equal(t, "rerun the parser tests", msgs[0].Text)
			assert.Equal(t, factory.NotePlan, msgs[0].Kind)

			latest, _, _, err := s.Run(ctx, "latest")
			require.NoError(t, err)
			assert.Equal(t, run.ID, latest.ID)

			require.NoError(t, s.EndRun(ctx, run.ID, time.Time{}))
			runs, err := s.Runs(ctx, 0)
			require.NoError(t, err)
			require.Len(t, runs, 1)
			assert.False(t, runs[0].Ended.IsZero())
			assert.Equal(t, 2, runs[0].Steps)

			// Error contract.
			_, _, _, err = s.Run(ctx, "r-nope")
			assert.Equal(t, factory.ENOTFOUND, factory.ErrorCode(err))
			assert.Equal(t, factory.ENOTFOUND, factory.ErrorCode(s.EndRun(ctx, "r-nope", time.Time{})))
			_, err = s.RecordStep(ctx, factory.Step{Tool: "x"})
			assert.Equal(t, factory.EINVALID, factory.ErrorCode(err))
			// A taken id is not reported by RecordStep (its write is
			// journaled, not yet inserted): the step stored first stays.
			_, err = s.RecordStep(ctx, factory.Step{ID: inner.ID, RunID: run.ID, Tool: "impostor"})
			require.NoError(t, err)
			_, again, _, err := s.Run(ctx, run.ID)
			require.NoError(t, err)
			require.Len(t, again, 2)
			assert.Equal(t, inner.ID, again[1].ID)
			assert.Equal(t, "build", again[1].Method)
			assert.Empty(t, again[1].Tool)
			_, err = s.AddMessage(ctx, factory.Message{RunID: run.ID, Text: "  "})
			assert.Equal(t, factory.EINVALID, factory.ErrorCode(err))
		})
	}
}

func TestRunPrefixAmbiguous(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t, traces.Open)
	for _, id := range []string{"r-abc1", "r-abc2", "r-abd"} {
		_, err := s.StartRun(ctx, factory.Run{ID: id})
		require.NoError(t, err)
	}
	_, _, _, err := s.Run(ctx, "r-abc")
	assert.Equal(t, factory.EINVALID, factory.ErrorCode(err))
	r, _, _, err := s.Run(ctx, "r-abd")
	require.NoError(t, err)
	assert.Equal(t, "r-abd", r.ID)
	r, _, _, err = s.Run(ctx, "r-abc2")
	require.NoError(t, err)
	assert.Equal(t, "r-abc2", r.ID)
	_, _, _, err = s.Run(ctx, "")
	assert.Equal(t, factory.EINVALID, factory.ErrorCode(err))
}

func TestSecretsNeverReachTheFile(t *testing.T) {
	for _, m := range modes() {
		t.Run(m.name, func(t *testing.T) {
			ctx := context.Background()
			s, path := newStore(t, m.open)
			const secret = "hunter2-very-secret"
			run, err := s.StartRun(ctx, factory.Run{Name: "deploy password=" + secret})
			require.NoError(t, err)
			st, err := s.RecordStep(ctx, factory.Step{RunID: run.ID, Tool: "exec", Args: `{"cmd":"deploy","env":{"API_TOKEN":"` + secret + `"}}`,
				Result: "sent Authorization: Bearer " + secret, Error: "token=" + secret})
			require.NoError(t, err)
			_, err = s.RecordStep(ctx, factory.Step{RunID: run.ID, Tool: "patch_apply", Args: `{"patch":"+aws_key = ` + awsKeyID + `"}`})
			require.NoError(t, err)
			_, err = s.AddMessage(ctx, factory.Message{RunID: run.ID, Text: "used " + ghToken + " and password: " + secret})
			require.NoError(t, err)
			require.NoError(t, s.RecordTestRun(ctx, run.ID, st.ID, factory.TestReport{ID: "t-1", Suite: "unit", Status: factory.TestFail,
				Failures: []factory.TestFailure{{Name: "TestLogin", Message: "password: " + secret, Output: []string{"Bearer " + secret}}}}))
			require.NoError(t, s.RecordVerdicts(ctx, run.ID, st.ID, []factory.Verdict{{ID: "no-secrets", Status: factory.VerdictFail,
				Message: "found secret=" + secret, Evidence: []string{"config.go:3 api_key: " + secret}}}))

			// Look at every text column of every table, as stored.
			db := rawDB(t, path)
			for _, q := range []string{
				"SELECT name FROM runs", "SELECT args || result || error FROM steps", "SELECT text FROM messages",
				"SELECT report FROM test_runs", "SELECT message FROM test_failures", "SELECT message || evidence FROM verdicts",
			} {
				rows, err := db.Query(q)
				require.NoError(t, err)
				n := 0
				for rows.Next() {
					var v string
					require.NoError(t, rows.Scan(&v))
					assert.NotContains(t, v, secret, q)
					assert.NotContains(t, v, awsKeyID, q)
					assert.NotContains(t, v, ghToken, q)
					assert.Contains(t, v, "REDACTED", q)
					n++
				}
				require.NoError(t, rows.Err())
				rows.Close()
				assert.NotZero(t, n, q)
			}
			// The file holds no trace of it either (FTS index, free pages).
			require.NoError(t, s.Close())
			require.NoError(t, db.Close())
			assertFileLacks(t, path, secret)
		})
	}
}

func TestSummariesAreCapped(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t, traces.Open)
	run, err := s.StartRun(ctx, factory.Run{})
	require.NoError(t, err)
	big := strings.Repeat("é", 100_000)
	st, err := s.RecordStep(ctx, factory.Step{RunID: run.ID, Tool: "x", Args: `{"a":"` + big + `"}`, Result: big, Error: big})
	require.NoError(t, err)
	_, steps, _, err := s.Run(ctx, run.ID)
	require.NoError(t, err)
	require.Len(t, steps, 1)
	for _, v := range []string{steps[0].Args, steps[0].Result, steps[0].Error, st.Result} {
		assert.LessOrEqual(t, len(v), 4096)
		assert.Contains(t, v, "truncated")
		assert.True(t, strings.HasPrefix(v, `{"a":"éé`) || strings.HasPrefix(v, "éé"))
		assert.NotContains(t, v, "\uFFFD")
	}
}

func TestFullTextSearch(t *testing.T) {
	for _, m := range modes() {
		t.Run(m.name, func(t *testing.T) {
			ctx := context.Background()
			s, _ := newStore(t, m.open)
			run, err := s.StartRun(ctx, factory.Run{Name: "search"})
			require.NoError(t, err)
			texts := []factory.Step{
				{Tool: "patch_apply", Args: `{"path":"parser/lexer.go"}`, Result: "applied 3 hunks"},
				{Tool: "test_run", Args: `{"suite":"unit"}`, Result: "2 failed", Error: "TestLexerUnicode failed"},
				{Tool: "snapshot_create", Args: `{"label":"before refactor"}`, Result: "s-3f9a2c"},
				{Tool: "test_run", Args: `{"suite":"integration"}`, Result: "all passed"},
			}
			ids := make([]string, len(texts))
			for i, st := range texts {
				st.RunID = run.ID
				st.Started = time.Now().Add(time.Duration(i) * time.Millisecond)
				got, err := s.RecordStep(ctx, st)
				require.NoError(t, err)
				ids[i] = got.ID
			}
			_, err = s.AddMessage(ctx, factory.Message{RunID: run.ID, Kind: factory.NoteDecision, Text: "switch the lexer to a table-driven design"})
			require.NoError(t, err)
			_, err = s.AddMessage(ctx, factory.Message{RunID: run.ID, Kind: factory.NotePlan, Text: "then run the integration suite"})
			require.NoError(t, err)

			find := func(text string) []string {
				t.Helper()
				p, err := s.Query(ctx, traces.Query{Text: text})
				require.NoError(t, err, text)
				var got []string
				for _, st := range p.Steps {
					got = append(got, st.ID)
				}
				return got
			}
			assert.Equal(t, []string{ids[0]}, find("hunk*"), "prefix")
			if m.fts {
				assert.Equal(t, []string{ids[0]}, find("lexer"), "FTS5 matches whole tokens: not TestLexerUnicode")
			} else {
				assert.Equal(t, []string{ids[1], ids[0]}, find("lexer"), "LIKE matches substrings")
			}
			assert.Equal(t, []string{ids[0]}, find("lexer.go"), "punctuation in a word")
			assert.Equal(t, []string{ids[2]}, find("before refactor"), "all words")
			assert.Empty(t, find("before integration"), "words must all match in one row")
			assert.Equal(t, []string{ids[3], ids[1]}, find("test_run"), "tool name")
			assert.Equal(t, []string{ids[1]}, find("FAILED"), "case-insensitive, error column")
			for _, odd := range []string{`"`, `a"b`, `NEAR(`, `-`, `AND OR`, `col:x`, `100%`, `_`} {
				_, err := s.Query(ctx, traces.Query{Text: odd})
				assert.NoError(t, err, "query text %q must never be a syntax error", odd)
			}
			assert.Equal(t, []string{ids[0]}, find("parser/lex*"), "a prefix of 3, after punctuation")
			for _, short := range []string{"hu*", "parser/le*", "*", "lexer ün*"} {
				_, err := s.Query(ctx, traces.Query{Text: short})
				assert.Equal(t, factory.EINVALID, factory.ErrorCode(err), "%q: %v", short, err)
				assert.ErrorContains(t, err, "too short", short)
			}
			p, err := s.Query(ctx, traces.Query{Kind: traces.KindMessages, Text: "lexer"})
			require.NoError(t, err)
			require.Len(t, p.Messages, 1)
			assert.Contains(t, p.Messages[0].Text, "table-driven")
			p, err = s.Query(ctx, traces.Query{Kind: traces.KindRuns, Text: "sear"})
			require.NoError(t, err)
			require.Len(t, p.Runs, 1)
			assert.Equal(t, 4, p.Runs[0].Steps)

			// A step recorded just now is found at once, by its args and
			// by its result.
			st, err := s.RecordStep(ctx, factory.Step{RunID: run.ID, Tool: "exec", Args: `{"cmd":"xyzzy-start"}`, Result: "plugh-done"})
			require.NoError(t, err)
			assert.Equal(t, []string{st.ID}, find("xyzzy-start"))
			assert.Equal(t, []string{st.ID}, find("plugh-done"))
		})
	}
}

// TestFTSIndexRebuiltAfterPlainBuildWrites: a binary built without FTS5
// writes to a run log that an FTS5 build created; the next FTS5 build
// rebuilds the index, so those rows are searchable.
func TestFTSIndexRebuiltAfterPlainBuildWrites(t *testing.T) {
	if !builtWithFTS5 {
		t.Skip("needs -tags sqlite_fts5")
	}
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "factory.db")
	s, err := traces.Open(ctx, traces.Config{Path: path})
	require.NoError(t, err)
	run, err := s.StartRun(ctx, factory.Run{})
	require.NoError(t, err)
	_, err = s.RecordStep(ctx, factory.Step{RunID: run.ID, Tool: "first", Result: "alpha"})
	require.NoError(t, err)
	require.NoError(t, s.Close())

	plain, err := traces.OpenFallback(ctx, traces.Config{Path: path})
	require.NoError(t, err)
	require.False(t, plain.FTS())
	_, err = plain.RecordStep(ctx, factory.Step{RunID: run.ID, Tool: "second", Result: "bravo"})
	require.NoError(t, err)
	require.NoError(t, plain.Close())

	s, err = traces.Open(ctx, traces.Config{Path: path})
	require.NoError(t, err)
	defer s.Close()
	for _, w := range []string{"alpha", "bravo"} {
		p, err := s.Query(ctx, traces.Query{Text: w})
		require.NoError(t, err)
		assert.Len(t, p.Steps, 1, w)
	}
	var dirty int
	require.NoError(t, rawDB(t, path).QueryRow("SELECT count(*) FROM meta WHERE key = 'fts_dirty'").Scan(&dirty))
	assert.Zero(t, dirty)
}

// seedSteps writes n steps over 3 runs and 4 tools with clashing start times
// (so that the id tie-break matters), and returns them.
func seedSteps(t *testing.T, s *traces.Store, n int) ([]factory.Run, []factory.Step) {
	ctx := context.Background()
	base := time.Now().Add(-time.Hour).Truncate(time.Second)
	var runs []factory.Run
	for i := range 3 {
		r, err := s.StartRun(ctx, factory.Run{Name: fmt.Sprint("run ", i), Started: base.Add(time.Duration(i) * time.Second)})
		require.NoError(t, err)
		runs = append(runs, r)
	}
	tools := []string{"patch_apply", "test_run", "snapshot_create", "trace_note"}
	statuses := []string{factory.StepOK, factory.StepOK, factory.StepToolError, factory.StepError}
	var steps []factory.Step
	for i := range n {
		st := factory.Step{
			RunID:   runs[i%3].ID,
			Tool:    tools[i%4],
			Status:  statuses[(i/4)%4],
			Started: base.Add(time.Duration(i/3) * time.Millisecond), // three steps per instant
			Args:    fmt.Sprintf(`{"n":%d,"word":"%s"}`, i, []string{"apple", "banana"}[i%2]),
		}
		got, err := s.RecordStep(ctx, st)
		require.NoError(t, err)
		steps = append(steps, got)
	}
	return runs, steps
}

func TestPaginationWalksEveryRowOnce(t *testing.T) {
	for _, m := range modes() {
		t.Run(m.name, func(t *testing.T) {
			ctx := context.Background()
			s, _ := newStore(t, m.open)
			runs, steps := seedSteps(t, s, 301)
			mid := steps[150].Started
			shapes := []struct {
				name string
				q    traces.Query
				keep func(factory.Step) bool
			}{
				{"all", traces.Query{}, func(factory.Step) bool { return true }},
				{"run", traces.Query{RunID: runs[1].ID}, func(st factory.Step) bool { return st.RunID == runs[1].ID }},
				{"tool", traces.Query{Tool: "test_run"}, func(st factory.Step) bool { return st.Tool == "test_run" }},
				{"status", traces.Query{Status: factory.StepToolError}, func(st factory.Step) bool { return st.Status == factory.StepToolError }},
				{"since", traces.Query{Since: mid}, func(st factory.Step) bool { return !st.Started.Before(mid) }},
				{"text", traces.Query{Text: "banana"}, func(st factory.Step) bool { return strings.Contains(st.Args, "banana") }},
				{"tool and text", traces.Query{Tool: "patch_apply", Text: "apple"}, func(st factory.Step) bool {
					return st.Tool == "patch_apply" && strings.Contains(st.Args, "apple")
				}},
			}
			for _, sh := range shapes {
				t.Run(sh.name, func(t *testing.T) {
					var want []factory.Step
					for _, st := range steps {
						if sh.keep(st) {
							want = append(want, st)
						}
					}
					require.NotEmpty(t, want)
					// Newest first: by (started, id) descending; FTS5 text
					// matches by insertion order descending.
					if sh.q.Text != "" && s.FTS() {
						slices.Reverse(want)
					} else {
						slices.SortFunc(want, func(a, b factory.Step) int {
							if c := b.Started.Compare(a.Started); c != 0 {
								return c
							}
							return strings.Compare(b.ID, a.ID)
						})
					}
					var got []string
					q := sh.q
					q.Limit = 7
					pages := 0
					for {
						p, err := s.Query(ctx, q)
						require.NoError(t, err)
						assert.LessOrEqual(t, len(p.Steps), 7)
						for _, st := range p.Steps {
							got = append(got, st.ID)
						}
						pages++
						require.Less(t, pages, 100, "pagination does not end")
						if p.Next == "" {
							break
						}
						q.Cursor = p.Next
					}
					wantIDs := make([]string, len(want))
					for i, st := range want {
						wantIDs[i] = st.ID
					}
					assert.Equal(t, wantIDs, got)
					assert.Equal(t, (len(want)+6)/7, pages)
				})
			}
		})
	}
}

func TestPaginationOfRunsAndMessages(t *testing.T) {
	for _, m := range modes() {
		t.Run(m.name, func(t *testing.T) {
			ctx := context.Background()
			s, _ := newStore(t, m.open)
			base := time.Now().Truncate(time.Second)
			var runIDs, msgIDs []string
			for i := range 25 {
				r, err := s.StartRun(ctx, factory.Run{Name: "r", Started: base.Add(time.Duration(i/2) * time.Second)})
				require.NoError(t, err)
				runIDs = append(runIDs, r.ID)
				msg, err := s.AddMessage(ctx, factory.Message{RunID: r.ID, Text: "note about the parser", Created: base.Add(time.Duration(i/2) * time.Second)})
				require.NoError(t, err)
				msgIDs = append(msgIDs, fmt.Sprint(msg.ID))
			}
			walk := func(q traces.Query) (ids []string) {
				q.Limit = 4
				for {
					p, err := s.Query(ctx, q)
					require.NoError(t, err)
					for _, r := range p.Runs {
						ids = append(ids, r.ID)
					}
					for _, m := range p.Messages {
						ids = append(ids, fmt.Sprint(m.ID))
					}
					if p.Next == "" {
						return ids
					}
					q.Cursor = p.Next
				}
			}
			gotRuns := walk(traces.Query{Kind: traces.KindRuns})
			assert.ElementsMatch(t, runIDs, gotRuns)
			assert.Len(t, gotRuns, 25)
			for _, q := range []traces.Query{{Kind: traces.KindMessages}, {Kind: traces.KindMessages, Text: "parser"}} {
				got := walk(q)
				want := slices.Clone(msgIDs)
				slices.Reverse(want) // ids ascend with created here
				assert.Equal(t, want, got, "%+v", q)
			}
		})
	}
}

func TestQueryErrors(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t, traces.Open)
	runs, _ := seedSteps(t, s, 30)
	p, err := s.Query(ctx, traces.Query{Limit: 5})
	require.NoError(t, err)
	require.NotEmpty(t, p.Next)

	for name, q := range map[string]traces.Query{
		"kind":          {Kind: "spans"},
		"cursor":        {Cursor: "not-a-cursor"},
		"cursor base64": {Cursor: "YWJj"},
		"cursor kind":   {Kind: traces.KindRuns, Cursor: p.Next},
		"tool for runs": {Kind: traces.KindRuns, Tool: "x"},
		"limit":         {Limit: -1},
	} {
		_, err := s.Query(ctx, q)
		assert.Equal(t, factory.EINVALID, factory.ErrorCode(err), "%s: %v", name, err)
	}
	_, err = s.Query(ctx, traces.Query{RunID: "r-missing"})
	assert.Equal(t, factory.ENOTFOUND, factory.ErrorCode(err))

	p, err = s.Query(ctx, traces.Query{RunID: "latest", Limit: 1000})
	require.NoError(t, err)
	assert.Len(t, p.Steps, 10)
	assert.Equal(t, runs[2].ID, p.Steps[0].RunID, "latest is the newest run")
}

func TestConcurrentWritersAndReaders(t *testing.T) {
	ctx := context.Background()
	s, path := newStore(t, traces.Open)
	run, err := s.StartRun(ctx, factory.Run{})
	require.NoError(t, err)
	const writers, each = 8, 150
	var wg sync.WaitGroup
	errs := make(chan error, writers*each*2)
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				if i%2 == 0 {
					// a write that waits for its commit, among the journaled steps
					_, err := s.AddMessage(ctx, factory.Message{RunID: run.ID, Text: fmt.Sprintf("w%d i%d", w, i)})
					errs <- err
				} else {
					_, err := s.RecordStep(ctx, factory.Step{RunID: run.ID, Tool: fmt.Sprint("w", w), Status: factory.StepOK})
					errs <- err
				}
			}
		})
	}
	stop := make(chan struct{})
	var readers sync.WaitGroup
	for range 2 {
		readers.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := s.Query(ctx, traces.Query{RunID: run.ID}); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	readers.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	got, steps, msgs, err := s.Run(ctx, run.ID)
	require.NoError(t, err)
	assert.Equal(t, writers*each/2, got.Steps)
	assert.Len(t, msgs, writers*each/2)
	assert.Zero(t, got.Failed)
	seen := map[string]bool{}
	for _, st := range steps {
		assert.Equal(t, factory.StepOK, st.Status)
		assert.False(t, seen[st.ID])
		seen[st.ID] = true
	}
	require.NoError(t, s.Close())
	var check string
	require.NoError(t, rawDB(t, path).QueryRow("PRAGMA integrity_check").Scan(&check))
	assert.Equal(t, "ok", check)
}

func TestClosedStoreRefusesWrites(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t, traces.Open)
	require.NoError(t, s.Close())
	_, err := s.StartRun(ctx, factory.Run{})
	assert.Equal(t, factory.EUNAVAILABLE, factory.ErrorCode(err))
	assert.True(t, errors.Is(err, &factory.Error{Code: factory.EUNAVAILABLE}))
}

func TestArtifacts(t *testing.T) {
	ctx := context.Background()
	s, path := newStore(t, traces.Open)
	snap := factory.Snapshot{ID: "s-3f9a2c", Commit: strings.Repeat("a", 40), Tree: strings.Repeat("b", 40), Label: "before",
		RunID: "r-1", StepID: "st-1", Created: time.Now().UTC(), Changes: factory.Changes{Added: 1, Modified: 2, Deleted: 3}}
	require.NoError(t, s.RecordSnapshot(ctx, snap))
	require.NoError(t, s.RecordSnapshot(ctx, factory.Snapshot{ID: snap.ID, Commit: "c", Tree: "t", Label: "reused"}), "again: kept")
	got, err := s.Snapshot(ctx, snap.ID)
	require.NoError(t, err)
	assert.Equal(t, snap.Changes, got.Changes)
	assert.Equal(t, "before", got.Label)
	assert.True(t, snap.Created.Equal(got.Created))
	_, err = s.Snapshot(ctx, "s-none")
	assert.Equal(t, factory.ENOTFOUND, factory.ErrorCode(err))
	assert.Equal(t, factory.EINVALID, factory.ErrorCode(s.RecordSnapshot(ctx, factory.Snapshot{ID: "x"})))

	log := []byte(strings.Repeat("=== RUN   TestX\n--- PASS: TestX (0.00s)\n", 50_000)) // 2 MB
	require.NoError(t, s.PutBlob(ctx, "t-1/log", "test-log", log))
	kind, data, err := s.Blob(ctx, "t-1/log")
	require.NoError(t, err)
	assert.Equal(t, "test-log", kind)
	assert.Equal(t, log, data)
	require.NoError(t, s.PutBlob(ctx, "t-1/log", "test-log", []byte("short")))
	_, data, err = s.Blob(ctx, "t-1/log")
	require.NoError(t, err)
	assert.Equal(t, "short", string(data))
	_, _, err = s.Blob(ctx, "nope") // ids come from tool results: a wrong one is bad input
	assert.Equal(t, factory.EINVALID, factory.ErrorCode(err))

	rep := factory.TestReport{ID: "t-1", Suite: "unit", Status: factory.TestFail, Counts: factory.TestCounts{Total: 10, Passed: 8, Failed: 2},
		Failures: []factory.TestFailure{{Name: "TestA", Package: "x/a", Message: "want 1 got 2"}, {Name: "TestB", Package: "x/b"}},
		Flaky:    []factory.TestFailure{{Name: "TestC", Package: "x/c"}}, Duration: 3 * time.Second}
	require.NoError(t, s.RecordTestRun(ctx, "r-1", "st-2", rep))
	require.NoError(t, s.RecordTestRun(ctx, "r-1", "st-2", rep), "recording again replaces")
	gotRep, fails, err := s.TestRun(ctx, "t-1")
	require.NoError(t, err)
	assert.Equal(t, rep.Counts, gotRep.Counts)
	require.Len(t, fails, 3)
	assert.Equal(t, "TestA", fails[0].Name)
	assert.Equal(t, "want 1 got 2", fails[0].Message)
	assert.True(t, fails[2].Flaky)
	var n int
	db := rawDB(t, path)
	require.NoError(t, db.QueryRow("SELECT count(*) FROM test_failures WHERE name = 'TestB' AND package = 'x/b'").Scan(&n))
	assert.Equal(t, 1, n)
	assert.Equal(t, factory.EINVALID, factory.ErrorCode(s.RecordTestRun(ctx, "", "", factory.TestReport{})))

	vs := []factory.Verdict{{ID: "tests-pass", Status: factory.VerdictFail, Message: "2 tests fail", Evidence: []string{"TestA", "TestB"}, Duration: time.Second},
		{ID: "no-new-deps", Status: factory.VerdictPass}}
	require.NoError(t, s.RecordVerdicts(ctx, "r-1", "st-3", vs))
	gotVs, err := s.Verdicts(ctx, "r-1")
	require.NoError(t, err)
	require.Len(t, gotVs, 2)
	assert.Equal(t, vs[0].Evidence, gotVs[0].Evidence)
	assert.Equal(t, "no-new-deps", gotVs[1].ID)
	assert.Equal(t, factory.EINVALID, factory.ErrorCode(s.RecordVerdicts(ctx, "r", "s", []factory.Verdict{{ID: "x"}})))
}

// assertFileLacks checks the database file and its WAL byte by byte.
func assertFileLacks(t *testing.T, path, secret string) {
	t.Helper()
	for _, p := range []string{path, path + "-wal"} {
		b, err := os.ReadFile(p)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		require.NoError(t, err)
		assert.False(t, bytes.Contains(b, []byte(secret)), "%s holds the secret", p)
	}
}
