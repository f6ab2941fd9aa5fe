// Package factory holds factory's domain: the types that cross package
// boundaries (snapshots, patch reports, test reports, verdicts, runs and
// steps) and the one error type with codes that every package returns.
//
// It imports the standard library only. sandbox/, invariants/ and traces/
// speak to each other, and to tools/, in these types; none of them imports
// another (see docs/ARCHITECTURE.md).
package factory
