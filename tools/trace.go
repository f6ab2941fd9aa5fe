package tools

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/factory-dev/factory"
	"github.com/factory-dev/factory/traces"
)

type runStartArgs struct {
	Name     string `json:"name" jsonschema:"short name of the task, e.g. 'add retry to fetcher'"`
	Workflow string `json:"workflow,omitempty" jsonschema:"forward (build something new) or investigate (find a regression, a flake, a perf gap); optional"`
}

type runStartResult struct {
	Run factory.Run `json:"run"`
}

type traceNoteArgs struct {
	Text string `json:"text" jsonschema:"the note: a plan, a decision and its reason, or an observation"`
	Kind string `json:"kind,omitempty" jsonschema:"plan, decision or observation (default observation)"`
}

type traceNoteResult struct {
	Message factory.Message `json:"message"`
}

type traceQueryArgs struct {
	Kind   string `json:"kind,omitempty" jsonschema:"steps (default), runs, messages, snapshots, test_runs or verdicts"`
	Run    string `json:"run,omitempty" jsonschema:"only this run id (a unique prefix works; 'current' is this connection's run)"`
	Tool   string `json:"tool,omitempty" jsonschema:"only steps of this tool"`
	Status string `json:"status,omitempty" jsonschema:"only this status (steps: ok, rejected, tool_error, error, cancelled; test_runs and verdicts: pass, fail, error, ...)"`
	Since  string `json:"since,omitempty" jsonschema:"only newer than this: an RFC 3339 time or a duration such as 30m or 2h"`
	Text   string `json:"text,omitempty" jsonschema:"3+ characters; every word must match, word* is a prefix (steps, messages); substrings for snapshots, test_runs, verdicts"`
	Limit  int    `json:"limit,omitempty" jsonschema:"rows per page, 1 to 100 (default 10)"`
	Cursor string `json:"cursor,omitempty" jsonschema:"the next value of a previous page"`
}

func runStart(d Deps) Tool {
	return define(d, "run_start",
		"Begin a named run (a task) for this session. Every later call is recorded as a step of this run, so the task's plan, changes, tests and verdicts can be queried together with trace_query. Call it at the start of each task.",
		annotations{title: "Start a run", idempotent: false},
		func(ctx context.Context, a runStartArgs) (runStartResult, error) {
			switch a.Workflow {
			case "", "forward", "investigate":
			default:
				return runStartResult{}, factory.Errorf(factory.EINVALID, "workflow %q is not known; use forward or investigate, or leave it out", a.Workflow)
			}
			if strings.TrimSpace(a.Name) == "" {
				return runStartResult{}, factory.Errorf(factory.EINVALID, "name is empty; give the run a short name that says what the task is")
			}
			r, err := d.Runs.Start(ctx, a.Name, a.Workflow)
			return runStartResult{Run: r}, err
		})
}

func traceNote(d Deps) Tool {
	return define(d, "trace_note",
		"Record your own plan, decision or observation in the current run, so the run log explains why as well as what. Keep notes short; they are searchable with trace_query.",
		annotations{title: "Note in the run log"},
		func(ctx context.Context, a traceNoteArgs) (traceNoteResult, error) {
			kind := a.Kind
			if kind == "" {
				kind = factory.NoteObservation
			}
			switch kind {
			case factory.NotePlan, factory.NoteDecision, factory.NoteObservation:
			default:
				return traceNoteResult{}, factory.Errorf(factory.EINVALID, "kind %q is not known; use plan, decision or observation", a.Kind)
			}
			if strings.TrimSpace(a.Text) == "" {
				return traceNoteResult{}, factory.Errorf(factory.EINVALID, "text is empty; write the note in text")
			}
			call := factory.CallFrom(ctx)
			m, err := d.Store.AddMessage(ctx, factory.Message{RunID: call.RunID, StepID: call.StepID, Kind: kind, Text: a.Text})
			return traceNoteResult{Message: m}, err
		})
}

func traceQuery(d Deps) Tool {
	return define(d, "trace_query",
		"Query the run log: steps (default), runs, messages, snapshots, test runs or verdicts, newest first, filtered by run, tool, status, time and full text. Results are paged: pass next back as cursor for more.",
		annotations{title: "Query the run log", readOnly: true, idempotent: true},
		func(ctx context.Context, a traceQueryArgs) (traces.Page, error) {
			if err := checkSearchText(a.Text); err != nil {
				return traces.Page{}, err
			}
			q := traces.Query{Kind: a.Kind, RunID: a.Run, Tool: a.Tool, Status: a.Status, Text: a.Text, Limit: a.Limit, Cursor: a.Cursor}
			if q.Limit == 0 {
				q.Limit = defaultPage
			}
			if q.RunID == "current" {
				q.RunID = factory.CallFrom(ctx).RunID
			}
			if a.Since != "" {
				t, err := parseSince(a.Since, time.Now())
				if err != nil {
					return traces.Page{}, err
				}
				q.Since = t
			}
			p, err := d.Store.Query(ctx, q)
			if err != nil {
				return p, err
			}
			// The agent reads every byte: a page stays near 2,000 tokens.
			for i := range p.Steps {
				p.Steps[i].Args = factory.Clip(p.Steps[i].Args, 200)
				p.Steps[i].Result = factory.Clip(p.Steps[i].Result, 200)
				p.Steps[i].Error = factory.Clip(p.Steps[i].Error, 300)
			}
			for i := range p.Messages {
				p.Messages[i].Text = factory.Clip(p.Messages[i].Text, 1000)
			}
			return p, nil
		})
}

// defaultPage is trace_query's page size when the agent names none: ten
// steps with their clipped arguments and results stay under 2,000 tokens.
const defaultPage = 10

// minText is the shortest text trace_query searches for. Shorter text
// matched every step (one character) or none (two), depending on how the
// index splits it; neither is what was asked.
const minText = 3

func checkSearchText(text string) error {
	t := strings.TrimSpace(strings.ReplaceAll(text, "*", ""))
	if text != "" && utf8.RuneCountInString(t) < minText {
		return factory.Errorf(factory.EINVALID, "text %q is too short: search for at least %d characters (a word or a prefix such as snap*), or leave text out", text, minText)
	}
	return nil
}

// parseSince reads an RFC 3339 time or a duration before now.
func parseSince(s string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if d, err := time.ParseDuration(s); err == nil && d > 0 {
		return now.Add(-d), nil
	}
	return time.Time{}, factory.Errorf(factory.EINVALID, "since %q is neither an RFC 3339 time (2026-01-02T15:04:05Z) nor a duration (30m, 2h)", s)
}
