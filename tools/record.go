package tools

import (
	"context"

	"github.com/factory-dev/factory"
)

// records is what a call made that the run log keeps beside the call's
// step (which server/ records): snapshots, long outputs handed out by URI,
// a test run, verdicts. Handlers return it with their result and handle
// writes it here, so no handler writes the run log itself.
type records struct {
	snapshots   []factory.Snapshot  // new snapshots, as made
	snapshotIDs []string            // snapshots made along the way, by id; "" is skipped
	blobs       []blob              // long outputs; the result names them by URI
	testRun     *factory.TestReport // a finished test run
	verdicts    []factory.Verdict   // verdicts of a gate run
	// rejected says the result is a verdict against the change (a gate's
	// rejection, a patch that does not apply): an answer, not a tool
	// error, that the run log records as factory.StepRejected.
	rejected bool
}

// blob is a long output kept in the run log as a resource (see Resources).
// The run log redacts it as it stores it.
type blob struct {
	id, kind string
	data     []byte
}

// record writes recs to the run log. The snapshots, the test run and the
// verdicts are already where they live (object store, report, result), so
// failing to log them is logged, not returned; a blob is returned by URI, so
// failing to keep one is the call's error. Without a run log it does
// nothing.
func (d Deps) record(ctx context.Context, recs records) error {
	if d.Store == nil {
		return nil
	}
	for _, id := range recs.snapshotIDs {
		if id == "" || d.Workspace == nil {
			continue
		}
		if s, err := d.Workspace.Resolve(ctx, id); err == nil {
			recs.snapshots = append(recs.snapshots, s)
		}
	}
	for _, s := range recs.snapshots {
		if err := d.Store.RecordSnapshot(context.WithoutCancel(ctx), s); err != nil {
			d.Log.Warn("cannot record snapshot in the run log", "snapshot", s.ID, "err", err)
		}
	}
	for _, b := range recs.blobs {
		if err := d.Store.PutBlob(ctx, b.id, b.kind, b.data); err != nil {
			return err
		}
	}
	call := factory.CallFrom(ctx)
	if recs.testRun != nil {
		if err := d.Store.RecordTestRun(ctx, call.RunID, call.StepID, *recs.testRun); err != nil {
			d.Log.Warn("cannot record the test run", "err", err)
		}
	}
	if len(recs.verdicts) > 0 {
		if err := d.Store.RecordVerdicts(context.WithoutCancel(ctx), call.RunID, call.StepID, recs.verdicts); err != nil {
			d.Log.Warn("cannot record verdicts", "err", err)
		}
	}
	return nil
}

// keepsBlobs reports whether a long output can be handed out by URI: only
// with a run log to keep it in.
func (d Deps) keepsBlobs() bool { return d.Store != nil }
