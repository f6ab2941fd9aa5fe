// Package textdiff compares and merges text line by line: Myers' minimal
// line diff, git's unified patch format with its rename scoring, and
// three-way merge as `git merge-file` does it.
//
// textdiff imports the standard library and the root package factory only.
package textdiff
