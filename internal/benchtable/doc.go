// Package benchtable turns the output of `go test -bench` into the table
// `make bench` prints: one row per benchmark and reference, with factory's
// time, the reference's, and the ratio as internal/benchpair reports it
// (median of paired rounds, with min and max), in markdown a user can paste
// into an issue.
//
// It reads any metric named ratio-vs-<ref>; the times and the min and max
// come from the benchpair convention (factory-ns/op, <ref>-ns/op,
// ratio-min and ratio-max for the first reference, ratio-min-vs-<ref> and
// ratio-max-vs-<ref> for the others) and are left empty where a benchmark
// does not report them. It imports the standard library and
// golang.org/x/perf/benchfmt.
package benchtable
