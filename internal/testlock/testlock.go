// Package testlock lets test binaries of different packages take turns:
// go test runs packages in parallel (one per core), and the tests that
// measure benchmarks on both sides of a change (the bench gate, perf
// compare) judge each other's load as a slowdown. Exclusive holds a lock
// file in the temporary directory for as long as the caller runs.
package testlock

import (
	"os"
	"path/filepath"
	"testing"
)

// Exclusive waits for, then holds, the lock named name; release lets the
// next holder in. Where the platform has no file locks it holds nothing.
func Exclusive(name string) (release func()) {
	f, err := os.OpenFile(filepath.Join(os.TempDir(), "factory-test-"+name+".lock"), os.O_RDWR|os.O_CREATE, 0o666)
	if err != nil {
		return func() {}
	}
	if err := lock(f); err != nil {
		f.Close()
		return func() {}
	}
	return func() { unlock(f); f.Close() }
}

// Run runs a test binary's tests holding the lock named name, for a
// TestMain: os.Exit(testlock.Run(m, "benchmarks")).
func Run(m *testing.M, name string) int {
	release := Exclusive(name)
	defer release()
	return m.Run()
}
