// Package investigate is the investigative workflow's domain logic:
// comparing two trees' performance and their invariants' verdicts. Every
// probe runs in an isolated copy; the live tree, the index and HEAD are
// never touched. (Placeholder: the merge replaces this file.)
package investigate
