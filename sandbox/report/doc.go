// Package report turns the output of test runners into factory.TestReport,
// the compact report an agent reads instead of a raw log.
//
// It owns the parsers (go test -json through gotestsum's testjson, JUnit
// XML from pytest, jest-junit, node --test, cargo nextest and Maven
// surefire, TAP 13 and 14, cargo test's plain libtest output, and plain
// exit codes) and Build, which folds
// parsed cases into the report: status, counts, build errors first, then
// each failure with its location, message and the head and tail of its own
// output.
//
// The package is pure: it runs no process and touches no file. It imports
// the root package factory, the standard library and gotestsum's testjson.
package report
