package traces_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/factory-dev/factory"
	"github.com/factory-dev/factory/traces"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// history records, in two runs, two snapshots, three test runs (one with
// 25 failing tests) and three verdicts (one with 15 evidence lines).
func history(t *testing.T, s *traces.Store) (r1, r2 string) {
	t.Helper()
	ctx := context.Background()
	a, err := s.StartRun(ctx, factory.Run{Name: "one"})
	require.NoError(t, err)
	b, err := s.StartRun(ctx, factory.Run{Name: "two"})
	require.NoError(t, err)
	t0 := time.Now().Add(-time.Hour)
	for i, n := range []factory.Snapshot{
		{ID: "s-aaa", Label: "before patch", RunID: a.ID},
		{ID: "s-bbb", Label: "after patch", RunID: b.ID, Changes: factory.Changes{Modified: 2}},
	} {
		n.Commit, n.Tree, n.Created = strings.Repeat("c", 40), strings.Repeat("d", 40), t0.Add(time.Duration(i)*time.Minute)
		require.NoError(t, s.RecordSnapshot(ctx, n))
	}
	var many []factory.TestFailure
	for i := range 25 {
		many = append(many, factory.TestFailure{Name: fmt.Sprintf("TestMany%02d", i), Package: "example.com/m", Message: strings.Repeat("x", 1000)})
	}
	for _, tr := range []struct {
		run string
		rep factory.TestReport
	}{
		{a.ID, factory.TestReport{ID: "t-1", Suite: "unit", Status: factory.TestPass, Counts: factory.TestCounts{Total: 3, Passed: 3}}},
		{a.ID, factory.TestReport{ID: "t-2", Suite: "unit", Status: factory.TestFail, Counts: factory.TestCounts{Total: 3, Passed: 2, Failed: 1},
			Failures: []factory.TestFailure{{Name: "TestParse", Package: "example.com/p", Message: "want 1 got 2"}}}},
		{b.ID, factory.TestReport{ID: "t-3", Suite: "e2e", Status: factory.TestFail, Counts: factory.TestCounts{Total: 30, Failed: 25}, Failures: many}},
	} {
		require.NoError(t, s.RecordTestRun(ctx, tr.run, "st-x", tr.rep))
	}
	var ev []string
	for i := range 15 {
		ev = append(ev, fmt.Sprintf("evidence %d %s", i, strings.Repeat("é", 400)))
	}
	require.NoError(t, s.RecordVerdicts(ctx, a.ID, "st-v", []factory.Verdict{
		{ID: "tests-pass", Status: factory.VerdictPass, Message: "ok"},
		{ID: "layering", Status: factory.VerdictFail, Message: "2 denied imports", Evidence: ev},
	}))
	require.NoError(t, s.RecordVerdicts(ctx, b.ID, "st-w", []factory.Verdict{{ID: "tests-pass", Status: factory.VerdictError, Message: "suite timed out"}}))
	return a.ID, b.ID
}

func ids[T any](items []T, id func(T) string) []string {
	out := []string{}
	for _, it := range items {
		out = append(out, id(it))
	}
	return out
}

func snapID(n factory.Snapshot) string         { return n.ID }
func testRunID(t traces.TestRunSummary) string { return t.ID }
func verdictID(v traces.VerdictRecord) string  { return v.ID + "/" + v.Status }

func TestQueryHistoryKinds(t *testing.T) {
	for _, m := range modes() {
		t.Run(m.name, func(t *testing.T) {
			ctx := context.Background()
			s, _ := newStore(t, m.open)
			r1, r2 := history(t, s)
			q := func(q traces.Query) traces.Page {
				t.Helper()
				p, err := s.Query(ctx, q)
				require.NoError(t, err)
				return p
			}

			p := q(traces.Query{Kind: traces.KindSnapshots})
			assert.Equal(t, []string{"s-bbb", "s-aaa"}, ids(p.Snapshots, snapID), "newest first")
			assert.Equal(t, 2, p.Snapshots[0].Changes.Modified)
			assert.Equal(t, []string{"s-aaa"}, ids(q(traces.Query{Kind: traces.KindSnapshots, RunID: r1}).Snapshots, snapID))
			assert.Equal(t, []string{"s-bbb"}, ids(q(traces.Query{Kind: traces.KindSnapshots, Text: "AFTER"}).Snapshots, snapID))
			assert.Empty(t, q(traces.Query{Kind: traces.KindSnapshots, Since: time.Now()}).Snapshots)

			p = q(traces.Query{Kind: traces.KindTestRuns})
			assert.Equal(t, []string{"t-3", "t-2", "t-1"}, ids(p.TestRuns, testRunID))
			assert.Len(t, p.TestRuns[0].Failures, 20, "failing tests per listed run are bounded")
			assert.Equal(t, 25, p.TestRuns[0].Counts.Failed, "the counts say how many in all")
			assert.LessOrEqual(t, len(p.TestRuns[0].Failures[0].Message), 300+len("…"))
			assert.Equal(t, "TestParse", p.TestRuns[1].Failures[0].Name)
			assert.Empty(t, p.TestRuns[2].Failures)
			assert.Equal(t, []string{"t-2"}, ids(q(traces.Query{Kind: traces.KindTestRuns, Text: "TestParse"}).TestRuns, testRunID),
				"which runs did a test fail in")
			assert.Equal(t, []string{"t-3"}, ids(q(traces.Query{Kind: traces.KindTestRuns, Text: "e2e"}).TestRuns, testRunID))
			assert.Equal(t, []string{"t-3", "t-2"}, ids(q(traces.Query{Kind: traces.KindTestRuns, Status: factory.TestFail}).TestRuns, testRunID))
			assert.Equal(t, []string{"t-2", "t-1"}, ids(q(traces.Query{Kind: traces.KindTestRuns, RunID: r1}).TestRuns, testRunID))

			p = q(traces.Query{Kind: traces.KindVerdicts})
			assert.Equal(t, []string{"tests-pass/error", "layering/fail", "tests-pass/pass"}, ids(p.Verdicts, verdictID))
			assert.Equal(t, r2, p.Verdicts[0].RunID)
			assert.Equal(t, "st-w", p.Verdicts[0].StepID)
			lay := p.Verdicts[1]
			require.Len(t, lay.Evidence, 10, "evidence lines per listed verdict are bounded")
			assert.Equal(t, "… 6 more", lay.Evidence[9])
			assert.LessOrEqual(t, len(lay.Evidence[0]), 300+len("…"))
			assert.Equal(t, []string{"layering/fail"}, ids(q(traces.Query{Kind: traces.KindVerdicts, Status: factory.VerdictFail}).Verdicts, verdictID))
			assert.Equal(t, []string{"tests-pass/error"}, ids(q(traces.Query{Kind: traces.KindVerdicts, Text: "timed"}).Verdicts, verdictID))
			assert.Equal(t, []string{"layering/fail", "tests-pass/pass"}, ids(q(traces.Query{Kind: traces.KindVerdicts, RunID: r1}).Verdicts, verdictID))
		})
	}
}

// Paging one row at a time walks every row once, in order, for each kind;
// a cursor of one kind is refused by another.
func TestQueryHistoryPages(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t, traces.Open)
	history(t, s)
	walk := func(kind string) []string {
		var got []string
		cursor := ""
		for range 10 {
			p, err := s.Query(ctx, traces.Query{Kind: kind, Limit: 1, Cursor: cursor})
			require.NoError(t, err)
			got = append(got, ids(p.Snapshots, snapID)...)
			got = append(got, ids(p.TestRuns, testRunID)...)
			got = append(got, ids(p.Verdicts, verdictID)...)
			if p.Next == "" {
				return got
			}
			cursor = p.Next
		}
		t.Fatalf("%s: paging did not end", kind)
		return nil
	}
	assert.Equal(t, []string{"s-bbb", "s-aaa"}, walk(traces.KindSnapshots))
	assert.Equal(t, []string{"t-3", "t-2", "t-1"}, walk(traces.KindTestRuns))
	assert.Equal(t, []string{"tests-pass/error", "layering/fail", "tests-pass/pass"}, walk(traces.KindVerdicts))

	p, err := s.Query(ctx, traces.Query{Kind: traces.KindTestRuns, Limit: 1})
	require.NoError(t, err)
	_, err = s.Query(ctx, traces.Query{Kind: traces.KindVerdicts, Cursor: p.Next})
	assert.Equal(t, factory.EINVALID, factory.ErrorCode(err), "%v", err)
}

func TestQueryHistoryFilters(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t, traces.Open)
	for _, c := range []struct {
		q    traces.Query
		says string
	}{
		{traces.Query{Kind: traces.KindTestRuns, Tool: "test_run"}, "tool filters steps"},
		{traces.Query{Kind: traces.KindSnapshots, Status: "ok"}, "status filters steps, test_runs and verdicts"},
		{traces.Query{Kind: traces.KindRuns, Status: "ok"}, "status filters steps, test_runs and verdicts"},
		{traces.Query{Kind: "blobs"}, "use steps, runs, messages, snapshots, test_runs or verdicts"},
	} {
		_, err := s.Query(ctx, c.q)
		assert.Equal(t, factory.EINVALID, factory.ErrorCode(err), "%+v: %v", c.q, err)
		assert.ErrorContains(t, err, c.says)
	}
}

// attack: read past the run log's filters with SQL in the text, run and status filters of the history kinds (a quote to close the string, a LIKE wildcard, a stacked statement) -> no row that the filter does not match, and every table as it was
func TestAttackHistoryQueryInjection(t *testing.T) {
	ctx := context.Background()
	s, path := newStore(t, traces.Open)
	history(t, s)
	db := rawDB(t, path)
	dump := func() string {
		var b strings.Builder
		for _, table := range []string{"snapshots", "test_runs", "test_failures", "verdicts", "runs"} {
			rows, err := db.Query(`SELECT * FROM ` + table + ` ORDER BY 1`)
			require.NoError(t, err)
			cols, _ := rows.Columns()
			for rows.Next() {
				vals := make([]any, len(cols))
				ptrs := make([]any, len(cols))
				for i := range vals {
					ptrs[i] = &vals[i]
				}
				require.NoError(t, rows.Scan(ptrs...))
				fmt.Fprintln(&b, table, vals)
			}
			require.NoError(t, rows.Err())
			rows.Close()
		}
		return b.String()
	}
	before := dump()
	require.NotEmpty(t, before)
	for _, kind := range []string{traces.KindSnapshots, traces.KindTestRuns, traces.KindVerdicts} {
		for _, text := range []string{"' OR 1=1 --", "%", "_", "x'); DELETE FROM verdicts; --", `\`} {
			p, err := s.Query(ctx, traces.Query{Kind: kind, Text: text})
			require.NoError(t, err, "%s %q", kind, text)
			assert.Empty(t, p.Snapshots, "%s %q", kind, text)
			assert.Empty(t, p.TestRuns, "%s %q", kind, text)
			assert.Empty(t, p.Verdicts, "%s %q", kind, text)
		}
		if kind != traces.KindSnapshots {
			p, err := s.Query(ctx, traces.Query{Kind: kind, Status: "fail' OR '1'='1"})
			require.NoError(t, err)
			assert.Empty(t, p.TestRuns)
			assert.Empty(t, p.Verdicts)
		}
		_, err := s.Query(ctx, traces.Query{Kind: kind, RunID: "r-' OR 1=1 --"})
		assert.Equal(t, factory.ENOTFOUND, factory.ErrorCode(err), "%v", err)
	}
	assert.Equal(t, before, dump(), "the history tables are unchanged")
}
