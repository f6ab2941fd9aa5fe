// Package invariants is the change controller and the evaluation of the
// rules: gates that run on a tree in the sandbox and produce facts (suite,
// command, go-imports, js-imports, py-imports, pattern, coverage, bench,
// and the implicit diff),
// invariants that judge those facts (expr over the facts with baseline.* for
// the base's facts, and the sugar deny_imports, protect, forbid,
// max_regression), and verdicts with evidence. Check evaluates the
// invariants on a tree; Propose is the gate every change passes: isolate,
// apply, run the gates, evaluate against the base, and only then land it in
// the live tree, one change at a time and judged again if the live tree
// moved meanwhile.
//
// The rules are factory.yaml as committed (HEAD, or a ref a person moves),
// read from the object store; the working tree's copy is the agent's to
// edit and is never used to reach a verdict, only reported when it differs.
//
// A suite gate does not take the runner's word for what ran. It takes a
// census (internal/gocensus): the top-level tests the suite's `go test`
// argv selects, listed from the source with go/ast and build constraints,
// never by running the test binary, which runs the code under test and can
// print anything. Test functions, fuzz targets (their seed corpus runs as
// a test) and examples with an output comment count; subtests do not.
// Facts: tests.missing (declared, selected, not in the report as passed,
// failed or skipped, including packages answered from go's test cache),
// tests.deleted (selected on the base, rebuilt from the diff, and no longer
// on the result: removed, renamed out of -run, hidden by a build
// constraint or a nested go.mod), tests.tampering (changed code that
// forges a run: framing markers written, an exit in init, testing flags
// changed; see gocensus.Scan) and tests.census (how the tests were listed,
// or "none: why" for junit, tap and exit-code suites and commands that are
// not go test, which have no census yet).
//
// Every suite gate implies the invariant "<gate>-all-ran":
// len(<gate>.missing) == 0 && len(<gate>.tampering) == 0, added like
// factory-yaml-protected, so a test that did not run fails the gate even
// when factory.yaml says nothing about it. A file that writes its own rule
// over <gate>.missing replaces it. Deleting a test is not refused by
// default (refactors delete tests); write len(tests.deleted) == 0 to
// refuse it. What a malicious test binary can still do: forge markers it
// builds at run time (the scan reads literals), or open its parent's
// stdout; the census then trusts the forged events. Protecting test files
// (protect) and forbidding new init functions in them are the stronger,
// stricter rules.
//
// Its parts point one way: this package (the controller, and compiling and
// evaluating the invariants with expr-lang/expr) imports gates (running one
// gate on one tree, and the facts), which imports rules (factory.yaml: its
// types, its parser and reading it as committed), which imports benchstat
// (the benchmark statistics, pure functions over numbers).
//
// None of them imports sandbox, traces, tools, server or mcp-go: they
// declare the small interfaces they need (Workspace, gates.Runner, Steps)
// and cmd/factory wires the sandbox in.
package invariants
