package traces

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/factory-dev/factory"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// journalLines marshals steps as journal lines.
func journalLines(t *testing.T, steps []factory.Step) []byte {
	t.Helper()
	var b []byte
	for i := range steps {
		line, err := json.Marshal(toLine(&steps[i]))
		require.NoError(t, err)
		b = append(append(b, line...), '\n')
	}
	return b
}

func journalSteps(runID string, n int, tool string) []factory.Step {
	t0 := time.Date(2026, 11, 21, 14, 0, 0, 0, time.UTC)
	var steps []factory.Step
	for i := range n {
		steps = append(steps, factory.Step{ID: fmt.Sprintf("st-j%s%04d", tool, i), RunID: runID, ParentID: "st-parent",
			RequestID: fmt.Sprint(i), Method: "tools/call", Tool: tool, Args: fmt.Sprintf(`{"i":%d}`, i),
			Result: "done ünïcode \"quoted\"\nline", Status: factory.StepToolError, Error: "boom", Snapshot: "s-1",
			Started: t0.Add(time.Duration(i) * time.Second), Duration: time.Duration(i) * time.Millisecond,
			TraceID: "0af7651916cd43dd8448eb211c80319c", SpanID: "b7ad6b7169203331"})
	}
	return steps
}

func journalFiles(t *testing.T, path string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(journalDir(path), "*.jsonl"))
	require.NoError(t, err)
	return files
}

// A journal left by a dead process (written by hand here, ending in a torn
// line, with a garbled line in the middle) is replayed by Open, field for
// field, and removed.
func TestOpenReplaysDeadJournalAndSkipsTornLine(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "f.db")
	s, err := Open(ctx, Config{Path: path})
	require.NoError(t, err)
	run, err := s.StartRun(ctx, factory.Run{Name: "crashed"})
	require.NoError(t, err)
	require.NoError(t, s.Close())
	assert.Empty(t, journalFiles(t, path), "Close removes its journal")

	steps := journalSteps(run.ID, 5, "t")
	data := journalLines(t, steps[:3])
	data = append(data, "{not json\n"...)
	data = append(data, journalLines(t, steps[3:4])...)
	torn := journalLines(t, steps[4:])
	data = append(data, torn[:len(torn)/2]...) // the writer died mid-write
	dead := filepath.Join(journalDir(path), "4242-deadwriter.jsonl")
	require.NoError(t, os.WriteFile(dead, data, 0o600))
	// A segment its writer died before naming (see newSegment).
	require.NoError(t, os.WriteFile(filepath.Join(journalDir(path), "4242-unnamed.tmp"), nil, 0o600))

	s, err = Open(ctx, Config{Path: path})
	require.NoError(t, err)
	defer s.Close()
	assert.NoFileExists(t, dead)
	assert.NoFileExists(t, filepath.Join(journalDir(path), "4242-unnamed.tmp"))
	got, stored, _, err := s.Run(ctx, run.ID)
	require.NoError(t, err)
	assert.Equal(t, 4, got.Steps)
	require.Len(t, stored, 4)
	for i, want := range steps[:4] {
		assert.Equal(t, want, stored[i])
	}
	// The replayed steps are searchable like any other.
	page, err := s.Query(ctx, Query{Kind: "steps", Text: "boom"})
	require.NoError(t, err)
	assert.Len(t, page.Steps, 4)
}

// Replaying the same lines twice (a crash between the replay's commit and
// the removal of the file, or a line repeated) stores each step once.
func TestJournalReplayIsIdempotent(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "f.db")
	s, err := Open(ctx, Config{Path: path})
	require.NoError(t, err)
	_, err = s.StartRun(ctx, factory.Run{ID: "r-1"})
	require.NoError(t, err)
	require.NoError(t, s.Close())
	steps := journalSteps("r-1", 20, "idem")
	data := journalLines(t, steps)
	data = append(data, journalLines(t, steps[5:10])...) // repeated lines
	dead := filepath.Join(journalDir(path), "1-first.jsonl")
	require.NoError(t, os.WriteFile(dead, data, 0o600))
	for range 2 {
		s, err := Open(ctx, Config{Path: path})
		require.NoError(t, err)
		assert.NoFileExists(t, dead)
		require.NoError(t, s.Close())
		require.NoError(t, os.WriteFile(dead, data, 0o600)) // as if its removal was lost
	}
	s, err = Open(ctx, Config{Path: path})
	require.NoError(t, err)
	defer s.Close()
	_, stored, _, err := s.Run(ctx, "r-1")
	require.NoError(t, err)
	require.Len(t, stored, 20)
	for i := range steps {
		assert.Equal(t, steps[i].ID, stored[i].ID)
	}
	if s.FTS() {
		var n int
		require.NoError(t, s.rdb.QueryRow(`SELECT count(*) FROM steps_fts WHERE steps_fts MATCH 'boom'`).Scan(&n))
		assert.Equal(t, 20, n, "indexed once each")
	}
}

// The journal of a live process (its lock held) is left alone by a second
// opener, even if it holds a step the database lacks; once its writer is
// gone, the next opener replays it.
func TestLiveJournalIsNotReplayed(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "f.db")
	live, err := Open(ctx, Config{Path: path})
	require.NoError(t, err)
	own := journalFiles(t, path)
	require.Len(t, own, 1)
	_, err = live.StartRun(ctx, factory.Run{ID: "r-live"})
	require.NoError(t, err)
	// A line in the live journal whose insert is not queued: as if the
	// writer were between its append and its commit.
	pending := journalSteps("r-live", 1, "live")
	_, err = live.jr.append(journalLines(t, pending))
	require.NoError(t, err)

	second, err := Open(ctx, Config{Path: path})
	require.NoError(t, err)
	assert.FileExists(t, own[0], "a live writer's journal is not replayed")
	_, none, _, err := second.Run(ctx, "r-live")
	require.NoError(t, err)
	assert.Empty(t, none)
	require.NoError(t, second.Close())
	assert.FileExists(t, own[0], "nor removed by the second opener's Close")

	// The writer dies: its descriptors close, its lock goes, its file stays.
	live.jr.mu.Lock()
	live.jr.cur.f.Close()
	live.jr.gone = true
	live.jr.mu.Unlock()
	third, err := Open(ctx, Config{Path: path})
	require.NoError(t, err)
	defer third.Close()
	assert.NoFileExists(t, own[0])
	_, stored, _, err := third.Run(ctx, "r-live")
	require.NoError(t, err)
	require.Len(t, stored, 1)
	assert.Equal(t, pending[0], stored[0])
	live.Close()
}

// Many goroutines record steps while the ingester commits them and cuts
// the journal back (truncating or sealing segments). At any moment every
// step whose RecordStep returned is in a journal file or in the database:
// files are read first, then the database, so a line cut after the file
// read was committed before the database read. Afterwards the journal is
// small again although far more than journalMax went through it.
func TestJournalTruncationLosesNoLine(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "f.db")
	s, err := Open(ctx, Config{Path: path})
	require.NoError(t, err)
	defer s.Close()
	db, err := sql.Open("sqlite3", "file:"+path+"?_busy_timeout=5000")
	require.NoError(t, err)
	defer db.Close()

	var mu sync.Mutex
	var acked []string
	pad := strings.Repeat("x", 1500)
	const writers, each = 8, 600 // ~8 MB of journal lines
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				st, err := s.RecordStep(ctx, factory.Step{RunID: "r-1", Tool: "t", Args: fmt.Sprintf(`{"w":%d,"i":%d,"pad":%q}`, w, i, pad)})
				if !assert.NoError(t, err) {
					return
				}
				mu.Lock()
				acked = append(acked, st.ID)
				mu.Unlock()
			}
		})
	}
	checks := 0
	var cg sync.WaitGroup
	cg.Go(func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(15 * time.Millisecond):
			}
			mu.Lock()
			want := append([]string(nil), acked...)
			mu.Unlock()
			have := map[string]bool{}
			for _, f := range journalFiles(t, path) {
				fh, err := os.Open(f)
				if os.IsNotExist(err) {
					continue // a sealed segment removed meanwhile: committed
				}
				if !assert.NoError(t, err) {
					return
				}
				sc := bufio.NewScanner(fh)
				sc.Buffer(nil, 1<<20)
				for sc.Scan() {
					var l jline
					if json.Unmarshal(sc.Bytes(), &l) == nil {
						have[l.ID] = true
					}
				}
				fh.Close()
			}
			rows, err := db.Query(`SELECT id FROM steps`)
			if !assert.NoError(t, err) {
				return
			}
			for rows.Next() {
				var id string
				assert.NoError(t, rows.Scan(&id))
				have[id] = true
			}
			assert.NoError(t, rows.Err())
			rows.Close()
			lost := 0
			for _, id := range want {
				if !have[id] {
					lost++
				}
			}
			assert.Zero(t, lost, "acknowledged steps neither journaled nor committed")
			checks++
		}
	})
	wg.Wait()
	close(stop)
	cg.Wait()
	t.Logf("%d consistency checks during the burst", checks)
	assert.Positive(t, checks)

	_, err = s.Runs(ctx, 0) // waits for the ingester
	require.NoError(t, err)
	var n int
	require.NoError(t, db.QueryRow(`SELECT count(*) FROM steps`).Scan(&n))
	assert.Equal(t, writers*each, n)
	var total int64
	files := journalFiles(t, path)
	for _, f := range files {
		fi, err := os.Stat(f)
		require.NoError(t, err)
		total += fi.Size()
	}
	assert.Len(t, files, 1, "sealed segments are removed once committed")
	assert.LessOrEqual(t, total, int64(journalMax+8<<10), "the journal is cut back")
}

// FinishStep right after RecordStep finds the step: the journaled insert
// is queued before it, and writes commit in order.
func TestFinishStepAfterJournaledRecordStep(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, Config{Path: filepath.Join(t.TempDir(), "f.db")})
	require.NoError(t, err)
	defer s.Close()
	run, err := s.StartRun(ctx, factory.Run{})
	require.NoError(t, err)
	st, err := s.RecordStep(ctx, factory.Step{RunID: run.ID, Tool: "t", Status: factory.StepRunning})
	require.NoError(t, err)
	require.NoError(t, s.FinishStep(ctx, factory.Step{ID: st.ID, Status: factory.StepOK, Result: "fine"}))
	_, steps, _, err := s.Run(ctx, run.ID)
	require.NoError(t, err)
	require.Len(t, steps, 1)
	assert.Equal(t, factory.StepOK, steps[0].Status)
	assert.Equal(t, "fine", steps[0].Result)
}
