package traces

import (
	"context"
	"database/sql"
	"encoding/binary"
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

// segmentBytes lays steps out as a journal segment, as the writer does,
// and returns it with each record's offset.
func segmentBytes(t *testing.T, steps []factory.Step) ([]byte, []int) {
	t.Helper()
	b := make([]byte, segSize)
	copy(b, segMagic)
	off := firstRecord
	var offs []int
	for i := range steps {
		n := payloadSize(&steps[i])
		offs = append(offs, off)
		putRecord(b[off:off+recordSize(n)], &steps[i], n)
		off += recordSize(n)
	}
	return b, offs
}

func journalSteps(runID string, n int, tool string) []factory.Step {
	t0 := time.Date(2026, 11, 21, 14, 0, 0, 0, time.UTC)
	var steps []factory.Step
	for i := range n {
		steps = append(steps, factory.Step{ID: fmt.Sprintf("st-j%s%04d", tool, i), RunID: runID, ParentID: "st-parent",
			RequestID: fmt.Sprint(i), Method: "tools/call", Tool: tool, Args: fmt.Sprintf(`{"i":%d}`, i),
			Result: "done ünïcode \"quoted\"\nline", Status: factory.StepToolError, Error: "boom",
			Started: t0.Add(time.Duration(i) * time.Second), Duration: time.Duration(i) * time.Millisecond,
			TraceID: "0af7651916cd43dd8448eb211c80319c", SpanID: "b7ad6b7169203331"})
	}
	return steps
}

func journalFiles(t *testing.T, path string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(journalDir(path), "*.seg"))
	require.NoError(t, err)
	return files
}

// Segments left by dead processes are replayed by Open, field for field,
// and removed: one whose writer died between a record's payload and its
// length (the record is absent), one damaged in the middle (the records
// before the damage come back). A file of a format this version does not
// read is left alone.
func TestOpenReplaysDeadJournals(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "f.db")
	s, err := Open(ctx, Config{Path: path})
	require.NoError(t, err)
	run, err := s.StartRun(ctx, factory.Run{Name: "crashed"})
	require.NoError(t, err)
	require.NoError(t, s.Close())
	assert.Empty(t, journalFiles(t, path), "Close removes its journal")

	steps := journalSteps(run.ID, 8, "t")
	data, offs := segmentBytes(t, steps[:5])
	clear(data[offs[4] : offs[4]+4]) // died before storing the last length
	dead := filepath.Join(journalDir(path), "4242-deadwriter.seg")
	require.NoError(t, os.WriteFile(dead, data, 0o600))
	data, offs = segmentBytes(t, steps[5:])
	data[offs[1]+20] ^= 0xff // damage in the second record
	damaged := filepath.Join(journalDir(path), "4243-damaged.seg")
	require.NoError(t, os.WriteFile(damaged, data, 0o600))
	future := filepath.Join(journalDir(path), "4244-future.seg")
	require.NoError(t, os.WriteFile(future, []byte("factory-journal\x02 a later format"), 0o600))
	// A segment its writer died before naming (see newSegment).
	require.NoError(t, os.WriteFile(filepath.Join(journalDir(path), "4242-unnamed.tmp"), nil, 0o600))

	s, err = Open(ctx, Config{Path: path})
	require.NoError(t, err)
	defer s.Close()
	assert.NoFileExists(t, dead)
	assert.NoFileExists(t, damaged)
	assert.FileExists(t, future)
	assert.NoFileExists(t, filepath.Join(journalDir(path), "4242-unnamed.tmp"))
	got, stored, _, err := s.Run(ctx, run.ID)
	require.NoError(t, err)
	assert.Equal(t, 5, got.Steps)
	require.Len(t, stored, 5)
	for i, want := range append(steps[:4:4], steps[5]) {
		assert.Equal(t, want, stored[i])
	}
	// The replayed steps are searchable like any other.
	page, err := s.Query(ctx, Query{Kind: "steps", Text: "boom"})
	require.NoError(t, err)
	assert.Len(t, page.Steps, 5)
}

// Every field survives the record encoding, including empty strings, a
// zero time, negative and huge durations and bytes that are not UTF-8.
func TestJournalPayloadRoundTrip(t *testing.T) {
	cases := append(journalSteps("r-1", 2, "rt"),
		factory.Step{},
		factory.Step{ID: "st-x", RunID: "r", Args: "\xff\x00\n", Duration: -5, Started: time.Unix(0, 1).UTC()},
		factory.Step{ID: strings.Repeat("i", 300), Result: strings.Repeat("é", 4000), Duration: 1 << 62,
			Started: time.Date(1969, 7, 20, 20, 17, 0, 0, time.UTC)})
	for _, st := range cases {
		b := make([]byte, payloadSize(&st))
		encodePayload(b, &st)
		got, err := decodePayload(b)
		require.NoError(t, err)
		assert.Equal(t, st, got)
		for cut := range len(b) { // a short payload is an error, never a panic
			_, err := decodePayload(b[:cut])
			assert.Error(t, err, "cut at %d of %d", cut, len(b))
		}
	}
}

// Replaying the same records twice (a crash between the replay's commit
// and the removal of the file, or a record repeated) stores each step once.
func TestJournalReplayIsIdempotent(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "f.db")
	s, err := Open(ctx, Config{Path: path})
	require.NoError(t, err)
	_, err = s.StartRun(ctx, factory.Run{ID: "r-1"})
	require.NoError(t, err)
	require.NoError(t, s.Close())
	steps := journalSteps("r-1", 20, "idem")
	data, _ := segmentBytes(t, append(steps, steps[5:10]...)) // repeated records
	dead := filepath.Join(journalDir(path), "1-first.seg")
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
	// A record in the live journal whose insert is not queued: as if the
	// writer were between its append and its commit.
	pending := journalSteps("r-live", 1, "live")
	_, err = live.jr.append(&pending[0])
	require.NoError(t, err)

	second, err := Open(ctx, Config{Path: path})
	require.NoError(t, err)
	assert.FileExists(t, own[0], "a live writer's journal is not replayed")
	_, none, _, err := second.Run(ctx, "r-live")
	require.NoError(t, err)
	assert.Empty(t, none)
	require.NoError(t, second.Close())
	assert.FileExists(t, own[0], "nor removed by the second opener's Close")

	// The writer dies: its mapping and descriptors go, and with them its
	// lock; its file stays.
	live.jr.mu.Lock()
	live.jr.cur.release()
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

// Many goroutines record steps while the ingester commits them and the
// journal moves on (sealing full segments, removing committed ones). At
// any moment every step whose RecordStep returned is in a journal file or
// in the database: files are read first, then the database, so a segment
// removed after the file read was committed before the database read.
// Afterwards one segment is left although far more than segSize went
// through the journal.
func TestJournalRotationLosesNoStep(t *testing.T) {
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
	const writers, each = 8, 600 // ~8 MB of records: two segments and more
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
			case <-time.After(3 * time.Millisecond):
			}
			mu.Lock()
			want := append([]string(nil), acked...)
			mu.Unlock()
			have := map[string]bool{}
			for _, f := range journalFiles(t, path) {
				data, err := os.ReadFile(f)
				if os.IsNotExist(err) {
					continue // a sealed segment removed meanwhile: committed
				}
				if !assert.NoError(t, err) {
					return
				}
				steps, bad := readSegment(data)
				assert.Empty(t, bad)
				for _, st := range steps {
					have[st.ID] = true
				}
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
	s.jr.mu.Lock()
	made := s.jr.made
	s.jr.mu.Unlock()
	assert.Greater(t, made, 1, "the burst filled a segment")
	assert.Len(t, journalFiles(t, path), 1, "full segments are removed once committed")
}

// A record whose eleventh string field is not empty (the layout reserves
// it) decodes to the same step, the field dropped: every record of this
// segment version replays.
func TestJournalRecordReservedFieldIsDropped(t *testing.T) {
	st := journalSteps("r-1", 1, "t")[0]
	var payload []byte
	fields := []string{st.ID, st.RunID, st.ParentID, st.RequestID, st.Method, st.Tool,
		st.Args, st.Result, st.Status, st.Error, "s-1", st.TraceID, st.SpanID}
	for _, f := range fields {
		payload = binary.AppendUvarint(payload, uint64(len(f)))
		payload = append(payload, f...)
	}
	payload = binary.AppendVarint(payload, nanos(st.Started))
	payload = binary.AppendVarint(payload, int64(st.Duration))
	got, err := decodePayload(payload)
	require.NoError(t, err)
	assert.Equal(t, st, got)

	// and what this build writes has the same layout, the field empty
	fields[10] = ""
	var want []byte
	for _, f := range fields {
		want = binary.AppendUvarint(want, uint64(len(f)))
		want = append(want, f...)
	}
	want = binary.AppendVarint(want, nanos(st.Started))
	want = binary.AppendVarint(want, int64(st.Duration))
	enc := make([]byte, payloadSize(&st))
	encodePayload(enc, &st)
	assert.Equal(t, want, enc)
}
