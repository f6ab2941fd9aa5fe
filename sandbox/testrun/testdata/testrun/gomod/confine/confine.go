// Package confine is a test-run fixture that probes the sandbox: network,
// process count and writes outside the tree. Each test passes when the
// sandbox holds; the caller also checks from outside that nothing escaped.
package confine
