// Package broken is a test-run fixture that does not compile.
package broken

// Value returns a name nobody declared.
func Value() int { return undeclaredName }
