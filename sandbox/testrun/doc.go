// Package testrun runs test suites and gate commands in isolated copies of
// a workspace: confined processes that see the live tree's dependency
// directories, narrowing to a package or test per runner (go test, pytest,
// vitest, jest, mocha, node --test, cargo test), reruns of the tests a
// crashing test hid, per-test reruns that tell flaky tests from failing
// ones, baselines, progress, suite detection and doctor's suite checks;
// and it is the sandbox side of invariants (Runner, and Workspace, the
// adapter of *sandbox.Workspace).
//
// testrun imports the root package factory, sandbox and its sub-packages,
// and invariants. Nothing under sandbox imports it; cmd/factory wires it.
package testrun
