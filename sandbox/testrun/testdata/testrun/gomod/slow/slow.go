// Package slow is a test-run fixture whose test (build tag slow) outlives
// any reasonable suite timeout and leaves a background child running.
package slow
