package server

import (
	"context"
	"time"

	"github.com/factory-dev/factory"
	"github.com/factory-dev/factory/tools"
)

// StepRecorder is the part of the run log ChildSteps writes.
type StepRecorder interface {
	RecordStep(ctx context.Context, st factory.Step) (factory.Step, error)
}

// ChildSteps records the phases of a long request (the gate's snapshot,
// isolate, apply, gates, promote) as steps under the request's own step,
// which the middleware records. It implements invariants.Steps; the guard
// is in a test file, so that server does not import invariants for it.
type ChildSteps struct{ Store StepRecorder }

// Begin starts a child step of the step in ctx. It also tells the client
// (progress, when asked for, and an info log message), so that a long gate
// shows each phase as it begins. Without a run log or a run, it records
// nothing.
func (c ChildSteps) Begin(ctx context.Context, name string) (context.Context, func(status string, err error)) {
	tools.Phase(ctx, name)
	parent := factory.CallFrom(ctx)
	if c.Store == nil || parent.RunID == "" {
		return ctx, func(string, error) {}
	}
	start := time.Now()
	id := factory.NewStepID(start)
	child := factory.WithCall(ctx, factory.Call{RunID: parent.RunID, StepID: id})
	return child, func(status string, err error) {
		st := factory.Step{ID: id, RunID: parent.RunID, ParentID: parent.StepID, Method: name, Status: status, Started: start, Duration: time.Since(start)}
		if err != nil {
			st.Error = factory.ErrorMessage(err)
		}
		_, _ = c.Store.RecordStep(context.WithoutCancel(ctx), st)
	}
}
