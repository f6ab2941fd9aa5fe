// Package investigate is the investigative workflow: bisection and
// flakiness over trees, benchmark comparison and invariant drift between
// two trees, with no MCP and no SQLite.
//
// Each tool of the workflow has its file: bisect.go (regression_find: a
// flake-aware binary search over the first-parent commits or the
// snapshots between a good and a bad tree, skipping trees that do not
// build, as git bisect skip does), flaky.go (flaky_check: a selection run
// many times, each test classed flaky, failing or passing with a Wilson
// interval on its failure rate), perf.go (perf_compare) and drift.go
// (invariant_drift).
//
// The package declares the small interfaces it needs (Trees, Tests,
// Cache...) and tools/ implements them with the sandbox facade and the run
// log, so the search logic is tested here against fakes and in tools/
// against real repositories. It imports the root package and the standard
// library only (and invariants where drift needs it); never sandbox,
// traces or tools.
package investigate
