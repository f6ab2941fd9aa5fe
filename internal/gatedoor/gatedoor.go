// Package gatedoor decides the hook events that make the gate the way into
// the branch: whether a shell command (analysed by gatehooks), the end of
// an agent's turn or a git commit may go ahead, given the trees the gate
// accepted in a workspace. cmd/factory reads each client's input and
// turns these answers into its exit codes; the words are the agent's
// instructions.
//
// What each command must find accepted before it runs:
//
//   - git commit (any form: -a, paths, --amend, staged changes) and every
//     other command that makes or moves commits (merge, rebase,
//     cherry-pick, revert, am, pull, commit-tree, update-ref, an alias):
//     the live working tree as a snapshot captures it AND the index's tree.
//     The live tree covers `git add -A && git commit` in one command (the
//     add runs after the check) and commit -a; the index covers what is
//     staged already. Each is fine when the gate accepted it or when it is
//     HEAD's tree (nothing new).
//   - git push: HEAD's tree, unless it equals the upstream's (nothing new
//     to publish). Only HEAD is checked, not every commit being pushed:
//     commits made with change_propose {commit: true} carry accepted
//     trees, and the pre-commit hook refuses the others.
//   - a command factory cannot read (eval of a variable, a computed
//     command name, a parse error): both of the above.
//
// The git pre-commit hook checks the one tree git is about to record: the
// tree of the index git hands the hook (GIT_INDEX_FILE, which for commit
// -a or commit <paths> is git's temporary index).
package gatedoor

import (
	"context"
	"fmt"
	"strings"

	"github.com/factory-dev/factory/internal/gatehooks"
	"github.com/factory-dev/factory/sandbox"
)

// CommandRefusal says why the command analysed as a must not run now, or
// "" when everything it could land or publish was accepted.
func CommandRefusal(ctx context.Context, ws *sandbox.Workspace, a gatehooks.Analysis) (string, error) {
	what := "this command"
	if len(a.What) > 0 {
		what = "`" + strings.Join(a.What, "`, `") + "`"
	}
	if a.Unknown != "" {
		what += " (" + a.Unknown + ")"
	}
	st, err := ws.Gate(ctx, "")
	if err != nil {
		return "", err
	}
	if a.Commit || a.Unknown != "" {
		if !st.LiveAccepted {
			files, err := unjudged(ctx, ws, st)
			if err != nil {
				return "", err
			}
			return "blocked " + what + ": the working tree holds changes no gate has judged (" + files + "). " +
				"Call the change_propose tool to judge them: when it accepts, they are recorded as gated (commit: true also commits exactly the judged tree, no hook needed). Commit only what it accepted.", nil
		}
		if !st.IndexAccepted {
			return "blocked " + what + ": the index (staged changes) holds a tree no gate has accepted. Stage exactly the accepted working tree (git add -A) or call the change_propose tool on it.", nil
		}
	}
	if a.Push || a.Unknown != "" {
		if up, ok := ws.UpstreamTree(ctx); st.Head != "" && !st.HeadAccepted && !(ok && up == st.Head) {
			return "blocked " + what + ": HEAD's tree was never accepted by the gate, so it would publish ungated work. Land changes with the change_propose tool (commit: true), then push.", nil
		}
	}
	return "", nil
}

// StopReason tells the agent which working-tree changes no gate has
// judged, or "" when the live tree was accepted.
func StopReason(ctx context.Context, ws *sandbox.Workspace) (string, error) {
	st, err := ws.Gate(ctx, "")
	if err != nil {
		return "", err
	}
	if st.LiveAccepted {
		return "", nil
	}
	files, err := unjudged(ctx, ws, st)
	if err != nil {
		return "", err
	}
	return "These working-tree changes have not been judged by a gate: " + files + ". Call the change_propose tool to judge (and land) them, or revert them; if you leave them, say so plainly in your answer.", nil
}

// CommitRefusal says why git must not record the tree of the index file
// (absolute; "" for the repository's own index), or "" when the gate
// accepted it.
func CommitRefusal(ctx context.Context, ws *sandbox.Workspace, index string) (string, error) {
	tree, err := ws.IndexTree(ctx, index)
	if err != nil {
		return "", err
	}
	if !ws.Committable(ctx, tree) {
		return "this commit's tree " + tree[:12] + " was not accepted by the gate. Let the agent call the change_propose tool on these changes (commit: true commits exactly the judged tree), or commit only a tree it accepted", nil
	}
	return "", nil
}

// unjudged names the unjudged paths, at most ten.
func unjudged(ctx context.Context, ws *sandbox.Workspace, st sandbox.GateStatus) (string, error) {
	paths, total, err := ws.Unjudged(ctx, st, 10)
	if err != nil {
		return "", err
	}
	s := strings.Join(paths, ", ")
	if total > len(paths) {
		s += fmt.Sprintf(" and %d more", total-len(paths))
	}
	return s, nil
}
