package tools

import (
	"context"
	"log/slog"
	"regexp"
	"slices"
	"strings"

	"github.com/factory-dev/factory"
	"github.com/factory-dev/factory/sandbox"
	"github.com/factory-dev/factory/traces"
	"github.com/mark3labs/mcp-go/mcp"
)

// maxCompletions is the most values one completion answer may hold (the
// protocol's limit).
const maxCompletions = 100

// Completer answers completion/complete for prompt arguments and resource
// template variables: snapshot ids from the workspace, suite names from
// factory.yaml as committed, run ids and names, test log and blob ids from
// the run log. It implements mcp-go's PromptCompletionProvider and
// ResourceCompletionProvider.
type Completer struct{ d Deps }

// NewCompleter returns the completer of what d holds; a nil Workspace
// or Store completes nothing from it.
func NewCompleter(d Deps) *Completer {
	if d.Log == nil {
		d.Log = slog.Default()
	}
	return &Completer{d: d}
}

// CompletePromptArgument completes a prompt's argument by its name.
func (c *Completer) CompletePromptArgument(ctx context.Context, prompt string, arg mcp.CompleteArgument, _ mcp.CompleteContext) (*mcp.Completion, error) {
	return c.complete(ctx, arg.Name, "", arg.Value), nil
}

// CompleteResourceArgument completes a resource template's variable: the
// id of factory://tests/{id}/log is a test run's, that of
// factory://blobs/{id} any kept output's.
func (c *Completer) CompleteResourceArgument(ctx context.Context, uri string, arg mcp.CompleteArgument, _ mcp.CompleteContext) (*mcp.Completion, error) {
	return c.complete(ctx, arg.Name, uri, arg.Value), nil
}

// complete lists the values of the argument named name that begin with
// prefix. A source that cannot be read completes nothing (logged): a
// completion is a convenience, never an error the user must handle.
func (c *Completer) complete(ctx context.Context, name, uri, prefix string) *mcp.Completion {
	var vals []string
	var err error
	switch {
	case name == "suite":
		vals, err = c.suites(ctx)
	case name == "goal":
		vals, err = c.runNames(ctx)
	case name == "run":
		vals, err = c.runIDs(ctx)
	case slices.Contains([]string{"snapshot", "from", "to", "baseline", "base", "at"}, name):
		vals, err = c.snapshots(ctx)
	case name == "id" && strings.HasPrefix(uri, testLogPrefix):
		vals, err = c.outputs(ctx, "t-")
	case name == "id" && strings.HasPrefix(uri, blobPrefix):
		vals, err = c.outputs(ctx, "")
	}
	if err != nil {
		c.d.Log.WarnContext(ctx, "completion", "argument", name, "err", err)
	}
	return matching(vals, prefix)
}

// matching keeps the values that begin with prefix, in order, once each,
// at most maxCompletions of them.
func matching(vals []string, prefix string) *mcp.Completion {
	out := &mcp.Completion{Values: []string{}}
	seen := map[string]bool{}
	for _, v := range vals {
		if v == "" || seen[v] || !strings.HasPrefix(v, prefix) {
			continue
		}
		seen[v] = true
		out.Total++
		if len(out.Values) < maxCompletions {
			out.Values = append(out.Values, v)
		}
	}
	out.HasMore = out.Total > len(out.Values)
	return out
}

func (c *Completer) suites(ctx context.Context) ([]string, error) {
	if c.d.Workspace == nil {
		return nil, nil
	}
	cfg, _, err := loadConfig(ctx, c.d)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, s := range cfg.Suites {
		out = append(out, s.Name)
	}
	return out, nil
}

func (c *Completer) snapshots(ctx context.Context) ([]string, error) {
	if c.d.Workspace == nil {
		return nil, nil
	}
	ss, err := c.d.Workspace.Snapshots(ctx, sandbox.SnapshotFilter{Limit: 500})
	var out []string
	for _, s := range ss {
		out = append(out, s.ID)
	}
	return out, err
}

func (c *Completer) recentRuns(ctx context.Context) ([]factory.Run, error) {
	if c.d.Store == nil {
		return nil, nil
	}
	return c.d.Store.Runs(ctx, 200)
}

func (c *Completer) runIDs(ctx context.Context) ([]string, error) {
	runs, err := c.recentRuns(ctx)
	out := []string{"current"}
	for _, r := range runs {
		out = append(out, r.ID)
	}
	return out, err
}

func (c *Completer) runNames(ctx context.Context) ([]string, error) {
	runs, err := c.recentRuns(ctx)
	var out []string
	for _, r := range runs {
		out = append(out, r.Name)
	}
	return out, err
}

// outputRef finds the ids of kept outputs in a step's result: a cut diff
// is named there by its URI, a test run's log by its report id, which
// comes first (the URI may be past the result's cut).
var outputRef = regexp.MustCompile(`(?:factory://(?:blobs|tests)/|"id":")([dt]-[0-9A-Za-z_-]+)`)

// outputs lists the ids of outputs the recent steps handed out, newest
// first, those beginning with kind ("t-" for test logs) or all.
func (c *Completer) outputs(ctx context.Context, kind string) ([]string, error) {
	if c.d.Store == nil {
		return nil, nil
	}
	var out []string
	for _, tool := range []string{"test_run", "snapshot_diff"} {
		p, err := c.d.Store.Query(ctx, traces.Query{Kind: traces.KindSteps, Tool: tool, Limit: 100})
		if err != nil {
			return out, err
		}
		for _, st := range p.Steps {
			for _, m := range outputRef.FindAllStringSubmatch(st.Result, -1) {
				if strings.HasPrefix(m[1], kind) {
					out = append(out, m[1])
				}
			}
		}
	}
	return out, nil
}
