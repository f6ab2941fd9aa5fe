package tools

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

// Toolset names.
const (
	SetWorkspace   = "workspace"
	SetChange      = "change"
	SetTest        = "test"
	SetInvariants  = "invariants"
	SetTrace       = "trace"
	SetInvestigate = "investigate"
	SetAll         = "all" // tools present in every selection (doctor)
)

// needs names the dependencies a tool cannot do without: New leaves the
// tool out when one of them is nil in Deps.
type needs uint8

const (
	needWorkspace needs = 1 << iota
	needGate
	needRuns
)

// entry is one tool of a toolset: what it needs and how it is made.
type entry struct {
	needs needs
	make  func(Deps) Tool
}

// long offers a tool as a task (optional task support): a client that
// asks has a long call (a gate, a test run) answered at once with a task
// to poll, rather than holding a request open for minutes.
func long(make func(Deps) Tool) func(Deps) Tool {
	return func(d Deps) Tool {
		t := make(d)
		mcp.WithTaskSupport(mcp.TaskSupportOptional)(&t.Def)
		return t
	}
}

// toolset is a group of tools selected together (--toolsets).
type toolset struct {
	name  string
	doc   string // one line for --help and doctor; "" for SetAll, which is not selectable
	tools []entry
}

// registry is the whole tool surface: every toolset and its tools, in the
// order New returns them. Each tool is made by the function named after it.
func registry() []toolset {
	return []toolset{
		{SetWorkspace, "snapshots of the working tree: create, list, diff, restore; files at a revision", []entry{
			{needWorkspace, snapshotCreate},
			{needWorkspace, snapshotList},
			{needWorkspace, snapshotDiff},
			{needWorkspace, snapshotRestore},
			{needWorkspace, fileRead},
		}},
		{SetChange, "patch apply and the gate", []entry{
			{needWorkspace, patchApply},
			{needWorkspace | needGate, long(changePropose)},
		}},
		{SetTest, "sandboxed test runs with compact reports", []entry{
			{needWorkspace, long(testRun)},
		}},
		{SetInvariants, "the gates and invariants of factory.yaml", []entry{
			{needWorkspace | needGate, invariantList},
			{needWorkspace | needGate, long(invariantCheck)},
		}},
		{SetInvestigate, "the investigative workflow: regressions, flakiness, performance, drift", []entry{
			// investigate: regression_find, flaky_check
			{needWorkspace, long(regressionFind)},
			{needWorkspace, long(flakyCheck)},
			// investigate: perf_compare, invariant_drift
			{needWorkspace | needGate, long(perfCompare)},
			{needWorkspace | needGate, long(invariantDrift)},
		}},
		{SetTrace, "the run log: runs, notes, queries", []entry{
			{needRuns, runStart},
			{0, traceNote},
			{0, traceQuery},
		}},
		{SetAll, "", []entry{
			{0, doctor},
		}},
	}
}

// has reports whether d holds everything n names.
func (d Deps) has(n needs) bool {
	return (n&needWorkspace == 0 || d.Workspace != nil) &&
		(n&needGate == 0 || d.Gate != nil) &&
		(n&needRuns == 0 || d.Runs != nil)
}

// Toolsets returns the names of the toolsets that can be selected, sorted,
// with a one-line description each.
func Toolsets() [][2]string {
	var out [][2]string
	for _, ts := range registry() {
		if ts.doc != "" {
			out = append(out, [2]string{ts.name, ts.doc})
		}
	}
	slices.SortFunc(out, func(a, b [2]string) int { return strings.Compare(a[0], b[0]) })
	return out
}

// Tool is one registered tool: its definition (name, description, schemas,
// annotations), its toolset and its handler.
type Tool struct {
	Toolset string
	Def     mcp.Tool
	Handler server.ToolHandlerFunc
}

// ReadOnly reports the tool's readOnlyHint annotation.
func (t Tool) ReadOnly() bool {
	return t.Def.Annotations.ReadOnlyHint != nil && *t.Def.Annotations.ReadOnlyHint
}

// Select filters tools to the named toolsets (nil or ["all"] means every
// toolset) and, with readOnly, to read-only tools. An unknown toolset name is
// an error that lists the valid ones.
func Select(all []Tool, toolsets []string, readOnly bool) ([]Tool, error) {
	sets := Toolsets()
	want := map[string]bool{}
	for _, name := range toolsets {
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		if name != SetAll && !slices.ContainsFunc(sets, func(ts [2]string) bool { return ts[0] == name }) {
			var valid []string
			for _, ts := range sets {
				valid = append(valid, ts[0])
			}
			return nil, fmt.Errorf("unknown toolset %q; choose from %s (comma-separated) or all", name, strings.Join(valid, ", "))
		}
		want[name] = true
	}
	everything := len(want) == 0 || want[SetAll]
	var out []Tool
	for _, t := range all {
		if !everything && t.Toolset != SetAll && !want[t.Toolset] {
			continue
		}
		if readOnly && !t.ReadOnly() {
			continue
		}
		out = append(out, t)
	}
	return out, nil
}

// Find returns the tool named name.
func Find(all []Tool, name string) (Tool, bool) {
	i := slices.IndexFunc(all, func(t Tool) bool { return t.Def.Name == name })
	if i < 0 {
		return Tool{}, false
	}
	return all[i], true
}

// Names lists the tools' names.
func Names(all []Tool) []string {
	out := make([]string, len(all))
	for i, t := range all {
		out[i] = t.Def.Name
	}
	return out
}

// annotations sets all four hints explicitly, so that no client falls back
// to the protocol's defaults (which assume a destructive, open-world tool).
type annotations struct {
	title                                    string
	readOnly, destructive, idempotent, world bool
}

func (a annotations) options() []mcp.ToolOption {
	return []mcp.ToolOption{
		mcp.WithTitleAnnotation(a.title),
		mcp.WithReadOnlyHintAnnotation(a.readOnly),
		mcp.WithDestructiveHintAnnotation(a.destructive),
		mcp.WithIdempotentHintAnnotation(a.idempotent),
		mcp.WithOpenWorldHintAnnotation(a.world),
	}
}

// define builds a Tool whose handler binds A, calls fn and answers R. The
// toolset is set by New, from the registry.
func define[A, R any](d Deps, name, description string, a annotations, fn func(context.Context, A) (R, error)) Tool {
	return defineRecording(d, name, description, a, func(ctx context.Context, args A) (R, records, error) {
		res, err := fn(ctx, args)
		return res, records{}, err
	})
}

// defineRecording is define for a tool whose call makes something the run
// log keeps (snapshots, verdicts, a test run, a long output): fn returns it
// beside the result, and handle records it.
func defineRecording[A, R any](d Deps, name, description string, a annotations, fn func(context.Context, A) (R, records, error)) Tool {
	opts := []mcp.ToolOption{
		mcp.WithDescription(description),
		mcp.WithInputSchema[A](),
		mcp.WithOutputSchema[R](),
	}
	opts = append(opts, a.options()...)
	def := mcp.NewTool(name, opts...)
	compactOutput(&def.OutputSchema)
	return Tool{
		Def:     def,
		Handler: handle(d, name, fn),
	}
}
