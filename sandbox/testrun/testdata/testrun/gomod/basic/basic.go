// Package basic is a test-run fixture: passing, failing, table, skipping
// and flaky tests.
package basic

// Add returns a+b.
func Add(a, b int) int { return a + b }
