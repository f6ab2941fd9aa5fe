package tools

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strings"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

// Toolset names.
const (
	SetWorkspace  = "workspace"
	SetChange     = "change"
	SetTest       = "test"
	SetInvariants = "invariants"
	SetTrace      = "trace"
	SetAll        = "all" // tools present in every selection (doctor)
)

// toolsetDocs describes each toolset for --help and doctor.
var toolsetDocs = map[string]string{
	SetWorkspace:  "snapshots of the working tree: create, list, diff, restore",
	SetChange:     "patch apply and the change gate",
	SetTest:       "sandboxed test runs with compact reports",
	SetInvariants: "the gates and invariants of factory.yaml",
	SetTrace:      "the run log: runs, notes, queries",
}

// Toolsets returns the names of the toolsets that can be selected, sorted,
// with a one-line description each.
func Toolsets() [][2]string {
	var out [][2]string
	for name, doc := range toolsetDocs {
		out = append(out, [2]string{name, doc})
	}
	sort.Slice(out, func(i, j int) bool { return out[i][0] < out[j][0] })
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
	want := map[string]bool{}
	for _, name := range toolsets {
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		if name != SetAll {
			if _, ok := toolsetDocs[name]; !ok {
				var valid []string
				for _, ts := range Toolsets() {
					valid = append(valid, ts[0])
				}
				return nil, fmt.Errorf("unknown toolset %q; choose from %s (comma-separated) or all", name, strings.Join(valid, ", "))
			}
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

// annotations sets all four hints explicitly, as TOOLS.md requires.
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

// define builds a Tool whose handler binds A, calls fn and answers R.
func define[A, R any](log *slog.Logger, toolset, name, description string, a annotations, fn func(context.Context, A) (R, error)) Tool {
	opts := []mcp.ToolOption{
		mcp.WithDescription(description),
		mcp.WithInputSchema[A](),
		mcp.WithOutputSchema[R](),
	}
	opts = append(opts, a.options()...)
	return Tool{
		Toolset: toolset,
		Def:     mcp.NewTool(name, opts...),
		Handler: handle(log, name, fn),
	}
}
