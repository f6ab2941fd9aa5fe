// Package sandbox is the workspace: snapshots of the working tree stored as
// commits under refs/factory/snapshots/ and their retention, diff and
// restore, promotion of a change into the live tree, patch apply with
// snapshots before and after, isolated copies (Isolate returns a Copy to
// patch, capture and close), reads of committed files (ReadFileAt), and
// factory's own commits, built with git plumbing so that no repository
// hook or other configured program runs on the host (Commit), one landing
// at a time (LockLanding). No other package runs git.
//
// Sub-packages hold the parts, each below the facade:
//   - gitstore: the object database, index, ignore rules and capture walk;
//   - watch: the file watcher that lets a snapshot re-read only what was
//     touched (Config.Watch; serve turns it on);
//   - copies: disposable directories holding a tree (overlay or plain);
//   - textdiff: line diff, unified patches, rename scoring, three-way merge;
//   - proc: confined process execution, the one way factory runs a command;
//   - patch: parsing and atomic application of unified diffs via os.Root;
//   - txn: the all-or-nothing write of restore and promote via os.Root;
//   - report: test output parsers;
//   - testrun: test suites and gate commands in copies; the sandbox side of
//     invariants, the one sub-package above the facade.
//
// sandbox imports the root package factory, its sub-packages (testrun
// excepted) and go-git. It never imports invariants, traces, tools, server
// or mcp-go.
package sandbox
