// Package panics is a test-run fixture whose second test panics.
package panics
