// Package bulk is a test-run fixture standing for the passing majority of
// a real suite: a table of 200 cases that each log a line.
package bulk

// Square returns n*n.
func Square(n int) int { return n * n }
