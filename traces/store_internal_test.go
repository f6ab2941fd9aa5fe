package traces

import (
	"context"
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

	// A caller's own id is never replaced.
	_, err = s.RecordStep(ctx, factory.Step{ID: taken.ID, RunID: "r-1"})
	assert.Equal(t, factory.EINVALID, factory.ErrorCode(err))
}

func TestStepIDsSortByTime(t *testing.T) {
	t0 := time.Date(2026, 11, 21, 13, 0, 0, 0, time.UTC)
	a, b := newStepID(t0), newStepID(t0.Add(time.Millisecond))
	assert.Len(t, a, 16)
	assert.Less(t, a[:11], b[:11])
	assert.Equal(t, newStepID(t0)[:11], a[:11])
}

func TestCapText(t *testing.T) {
	assert.Equal(t, "short", capText("short", 10))
	long := strings.Repeat("ü", 3000) // 6000 bytes
	got := capText(long, 4096)
	assert.LessOrEqual(t, len(got), 4096)
	assert.Contains(t, got, "6000 bytes in all")
	assert.True(t, strings.HasPrefix(got, "üü"))
}
