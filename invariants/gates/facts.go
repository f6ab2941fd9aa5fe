package gates

import (
	"encoding/json"
	"fmt"
	"reflect"
	"time"

	"github.com/factory-dev/factory/invariants/benchstat"
	"github.com/factory-dev/factory/invariants/rules"
)

// SuiteFacts are a suite gate's facts: the test report's counts and
// failures, and the census of the tests the suite should have run (see
// census.go): those declared in the source that did not run, those the
// change deleted, and changed code that can forge a run.
type SuiteFacts struct {
	Status      string   `json:"status" expr:"status"`
	Total       int      `json:"total" expr:"total"`
	Passed      int      `json:"passed" expr:"passed"`
	Failed      int      `json:"failed" expr:"failed"`
	Skipped     int      `json:"skipped" expr:"skipped"`
	BuildErrors int      `json:"build_errors" expr:"build_errors"`
	Failures    []string `json:"failures" expr:"failures"` // failing test names (Package.Test)
	ExitCode    int      `json:"exit_code" expr:"exit_code"`
	Details     []string `json:"details,omitempty" expr:"details"` // one line per build error and failure, for evidence
	Report      string   `json:"report,omitempty" expr:"report"`   // the test report's id (its full log)

	Census    string   `json:"census" expr:"census"`       // how the tests were listed: "go test: ..." or "none: why"
	Declared  int      `json:"declared" expr:"declared"`   // top-level tests the census expects to run
	Missing   []string `json:"missing" expr:"missing"`     // declared, selected, and not run ("pkg.TestX")
	Deleted   []string `json:"deleted" expr:"deleted"`     // selected on the base, no longer declared or selected
	Tampering []string `json:"tampering" expr:"tampering"` // "file:line: what": changed code that forges a run

	// NewFailures are the failures that do not fail on the base (the same
	// gate's failures there), AlreadyFailing those that do: a test already
	// failing on the base need not block every change. Both are filled only
	// once the base's facts are in; an invariant that reads either makes
	// the suite run on the base too (cached by tree).
	NewFailures    []string `json:"new_failures,omitempty" expr:"new_failures"`
	AlreadyFailing []string `json:"already_failing,omitempty" expr:"already_failing"`
}

// CommandFacts are a command gate's facts.
type CommandFacts struct {
	ExitCode int     `json:"exit_code" expr:"exit_code"`
	Output   string  `json:"output" expr:"output"` // head and tail of stdout+stderr
	TimedOut bool    `json:"timed_out" expr:"timed_out"`
	Seconds  float64 `json:"seconds" expr:"seconds"`
}

// ImportEdge is one package (go-imports) or file (js-imports, py-imports)
// importing another.
type ImportEdge struct {
	From string `json:"from" expr:"from"` // import path of the importer; a file's path relative to the root
	// To is the import path it imports; for js-imports and py-imports the
	// imported file's path relative to the root, or the bare package or
	// top-level module name when it is not in the tree; for an unresolved
	// import, what was written (a computed require, a glob pattern).
	To  string `json:"to" expr:"to"`
	Pos string `json:"pos" expr:"pos"` // file:line of the import spec, relative to the root
	// Unresolved marks an import whose target cannot be known without
	// running the code (require(x), import(`./${name}`), __import__(x)):
	// deny_imports denies it from any importer its from matches, since it
	// could reach anything.
	Unresolved bool `json:"unresolved,omitempty" expr:"unresolved"`
}

// ImportsFacts are an imports gate's facts: the module's package graph
// (go-imports) or the tree's file graph (js-imports, py-imports, whose
// Packages are the files read).
type ImportsFacts struct {
	Module   string       `json:"module" expr:"module"`
	Packages []string     `json:"packages" expr:"packages"`
	Edges    []ImportEdge `json:"edges" expr:"edges"` // non-test imports of the listed packages
	Errors   []string     `json:"errors,omitempty" expr:"errors"`
}

// DiffFacts describe the change against the base: always present as diff.*.
type DiffFacts struct {
	Files        int      `json:"files" expr:"files"`             // files changed
	LinesAdded   int      `json:"lines_added" expr:"lines_added"` // lines added, all files
	LinesDeleted int      `json:"lines_deleted" expr:"lines_deleted"`
	Paths        []string `json:"paths" expr:"paths"` // every path touched, old and new names
	Added        []string `json:"added" expr:"added"` // files by status
	Modified     []string `json:"modified" expr:"modified"`
	Deleted      []string `json:"deleted" expr:"deleted"`
	Renamed      []string `json:"renamed" expr:"renamed"` // "old -> new"

	stats []FileChange // for protect
	lines []AddedLine  // for patterns over added lines
	patch string       // the whole diff, to rebuild the base's Go files for the census
}

// FileChange is one file of the change, as git counts it.
type FileChange struct {
	Path, OldPath, Status string
	Additions, Deletions  int
}

// AddedLine is one line a change adds, at its line number in the new file.
type AddedLine struct {
	Path string
	Line int
	Text string
}

// PatternFacts are a pattern gate's facts.
type PatternFacts struct {
	Count   int      `json:"count" expr:"count"`
	Matches []string `json:"matches" expr:"matches"` // "path:line: text", the first 50
}

// CoverageFacts are a coverage gate's facts, percentages of statements.
type CoverageFacts struct {
	Total      float64            `json:"total" expr:"total"`
	Packages   map[string]float64 `json:"packages" expr:"packages"` // import path -> percent
	Statements int                `json:"statements" expr:"statements"`
	ExitCode   int                `json:"exit_code" expr:"exit_code"`
}

// Patch is the whole diff the facts were built from.
func (d *DiffFacts) Patch() string { return d.patch }

// Stats are the change's files, old and new names, for protect.
func (d *DiffFacts) Stats() []FileChange { return d.stats }

// FactType is the Go type of each gate kind's facts.
func FactType(kind string) reflect.Type {
	switch kind {
	case rules.GateSuite:
		return reflect.TypeOf(SuiteFacts{})
	case rules.GateCommand:
		return reflect.TypeOf(CommandFacts{})
	case rules.GateGoImports, rules.GateJSImports, rules.GatePyImports:
		return reflect.TypeOf(ImportsFacts{})
	case rules.GatePattern:
		return reflect.TypeOf(PatternFacts{})
	case rules.GateCoverage:
		return reflect.TypeOf(CoverageFacts{})
	case rules.GateBench:
		return reflect.TypeOf(benchstat.BenchFacts{})
	case rules.GateDiff:
		return reflect.TypeOf(DiffFacts{})
	}
	panic("invariants: unknown gate kind " + kind)
}

// DecodeFacts decodes cached JSON facts of a gate kind into a value of its
// fact type.
func DecodeFacts(kind string, raw json.RawMessage) (any, error) {
	p := reflect.New(FactType(kind))
	if err := json.Unmarshal(raw, p.Interface()); err != nil {
		return nil, fmt.Errorf("decode %s facts: %w", kind, err)
	}
	return p.Elem().Interface(), nil
}

// Outcome is a gate's facts, or why it produced none.
type Outcome struct {
	Facts    any           // a value of FactType(kind)
	Err      string        // the gate could not produce facts: verdicts reading it are errors
	Duration time.Duration // how long the gate ran; zero when its facts came from the cache
}

// TreeFacts are every gate's outcome on one tree.
type TreeFacts map[string]Outcome
