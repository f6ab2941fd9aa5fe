// Package gatehooks makes the gate the way into the branch: it tells what a
// shell command an agent is about to run may do to the branch (Analyze:
// make or move commits, publish them, or tamper with factory's own hooks
// and records), and it installs the hooks that ask factory before a commit
// lands (a git pre-commit hook, and Claude Code's PreToolUse and Stop hooks
// in .claude/settings.json), chaining a hook already there.
//
// The decision (may this command, stop or commit go ahead, given the trees
// the gate accepted?) is internal/gatedoor's; the hook entry points are
// `factory hook ...` in cmd/factory. This package knows
// files and shell syntax only: it imports the standard library and
// mvdan.cc/sh's parser, nothing of factory.
package gatehooks
