// Package gocensus lists the Go tests a `go test` command would run on a
// tree, from the source alone: nothing is compiled or executed, because
// the test binary runs the code under test, which may lie about what ran
// (`go test -list` runs it too). It also reads a `go test` argv (package
// patterns, -run, -skip, -tags, -count) and scans changed Go files for code
// that can stop tests from running or forge their output.
//
// The sandbox (to keep go's test cache out of every run) and invariants
// (the suite gate's census) share it. It imports the standard library only.
package gocensus
