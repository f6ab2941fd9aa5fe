package server_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/factory-dev/factory"
	"github.com/factory-dev/factory/invariants"
	"github.com/factory-dev/factory/server"
	"github.com/factory-dev/factory/traces"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// server records the gate's phases without importing invariants; this is
// the guard that it still fits.
var _ invariants.Steps = server.ChildSteps{}

func TestChildStepsRecordPhasesUnderTheRequestsStep(t *testing.T) {
	ctx := context.Background()
	store, err := traces.Open(ctx, traces.Config{Path: filepath.Join(t.TempDir(), "factory.db")})
	require.NoError(t, err)
	defer store.Close()
	run, err := store.StartRun(ctx, factory.Run{Name: "propose"})
	require.NoError(t, err)
	parent := factory.NewStepID(time.Now())
	ctx = factory.WithCall(ctx, factory.Call{RunID: run.ID, StepID: parent})

	steps := server.ChildSteps{Store: store}
	child, end := steps.Begin(ctx, "apply")
	assert.NotEqual(t, parent, factory.CallFrom(child).StepID, "the phase is a step of its own")
	end(factory.StepError, factory.Errorf(factory.ECONFLICT, "patch does not apply"))

	_, recorded, _, err := store.Run(ctx, run.ID)
	require.NoError(t, err)
	require.Len(t, recorded, 1)
	assert.Equal(t, "apply", recorded[0].Method)
	assert.Equal(t, parent, recorded[0].ParentID)
	assert.Equal(t, "patch does not apply", recorded[0].Error)

	// Outside a run there is nowhere to record: the phase runs unrecorded.
	same, end := steps.Begin(context.Background(), "apply")
	end(factory.StepOK, nil)
	assert.Equal(t, "", factory.CallFrom(same).StepID)
}
