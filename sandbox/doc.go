// Package sandbox is the workspace: snapshots of the working tree stored as
// commits under refs/factory/snapshots/ (go-git), diff and restore, patch
// apply with snapshots before and after, isolated copies, and test runs in
// those copies; reads of committed files (ReadFileAt), and factory's own
// commits, built with git plumbing so that no repository hook or other
// configured program runs on the host (Commit), one landing at a time
// (LockLanding).
//
// Sub-packages hold the parts that need no repository: proc (confined
// process execution, the one way factory runs a command), patch (parsing and
// atomic application of unified diffs through os.Root) and report (test
// output parsers).
//
// sandbox imports the root package factory, its own sub-packages, go-git and
// go-gitdiff. It never imports invariants, traces, tools, server or mcp-go.
package sandbox
