// Package testrun runs test suites and gate commands in isolated copies of
// a workspace: confined processes, narrowing to a package or test, reruns
// of the tests a crashing test hid, reruns that tell flaky tests from
// failing ones, baselines, progress, suite
// detection; and it is the sandbox side of invariants (Runner, and
// Workspace, the adapter of *sandbox.Workspace).
//
// testrun imports the root package factory, sandbox and its sub-packages,
// and invariants. Nothing under sandbox imports it; cmd/factory wires it.
package testrun
