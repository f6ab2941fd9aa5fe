package traces_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/factory-dev/factory"
	"github.com/factory-dev/factory/internal/attacktest"
	"github.com/factory-dev/factory/traces"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A test log is stored compressed and read back whole; a blob stored
// before compression (plain bytes in the table) still reads.
func TestBlobsAreStoredCompressed(t *testing.T) {
	ctx := context.Background()
	s, path := newStore(t, traces.Open)
	log := []byte(strings.Repeat(`{"Action":"output","Package":"p","Test":"TestX","Output":"=== RUN   TestX\n"}`+"\n", 60_000)) // 5 MB
	require.NoError(t, s.PutBlob(ctx, "t-1", "test-log", log))
	var stored, size int
	db := rawDB(t, path)
	require.NoError(t, db.QueryRow(`SELECT length(data), size FROM blobs WHERE id = 't-1'`).Scan(&stored, &size))
	assert.Equal(t, len(log), size, "size is the log's, uncompressed")
	assert.Less(t, stored, len(log)/20, "repetitive JSON shrinks at least 20 times")
	_, got, err := s.Blob(ctx, "t-1")
	require.NoError(t, err)
	assert.Equal(t, log, got)

	_, err = db.Exec(`INSERT INTO blobs(id, kind, created, size, data) VALUES('t-old', 'test-log', 1, 5, ?)`, []byte("plain"))
	require.NoError(t, err)
	_, got, err = s.Blob(ctx, "t-old")
	require.NoError(t, err)
	assert.Equal(t, "plain", string(got))
}

// attack: a suite floods its output (100 MB) so that its log fills the run log and every read of it -> the blob keeps at most MaxBlob, head and tail, with a line saying what was dropped, and is stored compressed; the workspace's other files are untouched
func TestAttackLogFlood(t *testing.T) {
	ctx := context.Background()
	s, path := newStore(t, traces.Open)
	dir := t.TempDir()
	before := attacktest.Take(t, dir)
	flood := bytes.Repeat([]byte("spam spam spam spam spam spam spam\n"), 100<<20/35)
	flood = append([]byte("HEAD-LINE\n"), append(flood, []byte("TAIL-LINE\n")...)...)
	require.NoError(t, s.PutBlob(ctx, "t-flood", "test-log", flood))
	_, got, err := s.Blob(ctx, "t-flood")
	require.NoError(t, err)
	assert.LessOrEqual(t, len(got), traces.MaxBlob+200)
	assert.True(t, bytes.HasPrefix(got, []byte("HEAD-LINE\n")))
	assert.True(t, bytes.HasSuffix(got, []byte("TAIL-LINE\n")))
	assert.Contains(t, string(got[traces.MaxBlob/2-10:traces.MaxBlob/2+200]), "bytes of output dropped here")
	var stored int
	require.NoError(t, rawDB(t, path).QueryRow(`SELECT length(data) FROM blobs WHERE id = 't-flood'`).Scan(&stored))
	assert.Less(t, stored, 2<<20, "stored compressed")
	attacktest.Unchanged(t, before, dir)
}

// A grouped failure (one entry for many tests with one message) records
// every test it stands for, so history queries find each of them.
func TestGroupedFailureRecordsEveryTest(t *testing.T) {
	ctx := context.Background()
	s, _ := newStore(t, traces.Open)
	rep := factory.TestReport{ID: "t-g", Suite: "unit", Status: factory.TestFail, Counts: factory.TestCounts{Total: 3, Failed: 3},
		Failures: []factory.TestFailure{{Name: "TestT/a", Package: "p", Message: "refused", Count: 3,
			Tests: []string{"TestT/b", "TestT/c"}, AllTests: []string{"TestT/a", "TestT/b", "TestT/c"}}}}
	require.NoError(t, s.RecordTestRun(ctx, "r-1", "st-1", rep))
	_, fails, err := s.TestRun(ctx, "t-g")
	require.NoError(t, err)
	var names []string
	for _, f := range fails {
		names = append(names, f.Name)
	}
	assert.Equal(t, []string{"TestT/a", "TestT/b", "TestT/c"}, names)
}
