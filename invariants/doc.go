// Package invariants owns factory.yaml and the change controller: gates
// that run on a tree in the sandbox and produce facts (suite, command,
// go-imports, pattern, coverage, bench, and the implicit diff), invariants
// that judge those facts (expr over the facts with baseline.* for the base's
// facts, and the sugar deny_imports, protect, forbid, max_regression), and
// verdicts with evidence. Check evaluates the invariants on a tree;
// Propose is the gate every change passes: isolate, apply, run the gates,
// evaluate against the base, and only then land it in the live tree, one
// change at a time and judged again if the live tree moved meanwhile.
//
// The rules are factory.yaml as committed (HEAD, or a ref a person moves),
// read from the object store; the working tree's copy is the agent's to
// edit and is never used to reach a verdict, only reported when it differs.
//
// It imports the root package factory, the standard library, goccy/go-yaml,
// expr-lang/expr and golang.org/x/perf. It never imports sandbox, traces,
// tools, server or mcp-go: it declares the small interfaces it needs
// (Workspace, Runner, Steps) and cmd/factory wires the sandbox in.
package invariants
