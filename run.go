package factory

import (
	"context"
	"time"
)

// Step statuses.
const (
	StepRunning   = "running"
	StepOK        = "ok"
	StepToolError = "tool_error" // the tool answered with isError: the agent can act on it
	StepError     = "error"      // protocol or internal error
	StepCancelled = "cancelled"
	// StepRejected: the tool answered a verdict against the change (a
	// gate's rejection, a patch that does not apply), not an error.
	StepRejected = "rejected"
)

// Run is one task of an agent: a client connection, or a run_start.
type Run struct {
	ID       string    `json:"id"`
	Name     string    `json:"name,omitempty"`
	Workflow string    `json:"workflow,omitempty"` // "forward", "investigate", ""
	Client   string    `json:"client,omitempty"`   // client name and version from initialize
	Root     string    `json:"root,omitempty"`     // the workspace
	Started  time.Time `json:"started"`
	Ended    time.Time `json:"ended,omitzero"`
	Steps    int       `json:"steps"`
	Failed   int       `json:"failed"` // steps whose status is not ok (nor running, nor rejected)
}

// Step is one request served (or one phase inside a request, with ParentID).
type Step struct {
	ID        string        `json:"id"`
	RunID     string        `json:"run_id"`
	ParentID  string        `json:"parent_id,omitempty"`
	RequestID string        `json:"request_id,omitempty"`
	Method    string        `json:"method"` // "tools/call", "resources/read", "prompts/get", or a phase name
	Tool      string        `json:"tool,omitempty"`
	Args      string        `json:"args,omitempty"`   // JSON, redacted
	Result    string        `json:"result,omitempty"` // summary, redacted
	Status    string        `json:"status"`
	Error     string        `json:"error,omitempty"`
	Started   time.Time     `json:"started"`
	Duration  time.Duration `json:"duration_ns"`
	TraceID   string        `json:"trace_id,omitempty"`
	SpanID    string        `json:"span_id,omitempty"`
}

// Message kinds recorded with trace_note, and by factory itself.
const (
	NotePlan        = "plan"
	NoteDecision    = "decision"
	NoteObservation = "observation"
)

// Message is text attached to a run (and optionally a step).
type Message struct {
	ID      int64     `json:"id"`
	RunID   string    `json:"run_id"`
	StepID  string    `json:"step_id,omitempty"`
	Kind    string    `json:"kind"`
	Text    string    `json:"text"`
	Created time.Time `json:"created"`
}

// Call is the request metadata that middleware puts in the context of a
// request: which run and step it belongs to. It carries no dependencies.
type Call struct {
	RunID  string
	StepID string
}

type callKey struct{}

// WithCall returns ctx carrying c.
func WithCall(ctx context.Context, c Call) context.Context {
	return context.WithValue(ctx, callKey{}, c)
}

// CallFrom returns the Call in ctx, or the zero Call.
func CallFrom(ctx context.Context) Call {
	c, _ := ctx.Value(callKey{}).(Call)
	return c
}
