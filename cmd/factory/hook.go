package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/factory-dev/factory"
	"github.com/factory-dev/factory/internal/gatehooks"
	"github.com/factory-dev/factory/sandbox"
)

// The hooks that make the gate the way into the branch. What each command
// must find accepted before it runs:
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

const hookSynopsis = "EVENT [--root DIR]"

func runHook(ctx context.Context, env *cliEnv, args []string) error {
	fs := newFlags(env, "hook", hookSynopsis, `Decide one hook event for a client that calls factory before a commit lands.
EVENT is one of:
  `+gatehooks.EventPreToolUse+`  Claude Code PreToolUse (Bash): reads the hook JSON on stdin; exit 2 with
                       the reason on stderr blocks a command that would commit or push an
                       ungated tree (and any failure of the hook blocks too)
  `+gatehooks.EventStop+`          Claude Code Stop: tells the agent which working-tree changes no
                       gate has judged
  `+gatehooks.EventGitPreCommit+`      git pre-commit: exit 1 refuses a commit whose tree the gate did not
                       accept (git commit --no-verify skips it)
factory init --hooks installs them.`)
	root := fs.String("root", "", "workspace (default: the hook input's cwd, else $CLAUDE_PROJECT_DIR, else the current directory)")
	if err := parse(env, fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageError{"give one EVENT"}
	}
	ctx, cancel := context.WithTimeout(ctx, 50*time.Second) // the client's own timeout is 60 s
	defer cancel()
	switch fs.Arg(0) {
	case gatehooks.EventPreToolUse:
		return preToolUse(ctx, env, *root)
	case gatehooks.EventStop:
		return stopHook(ctx, env, *root)
	case gatehooks.EventGitPreCommit:
		return gitPreCommit(ctx, env, *root)
	}
	return usageError{fmt.Sprintf("unknown hook event %q", fs.Arg(0))}
}

// claudeInput is the part of Claude Code's hook JSON factory reads.
type claudeInput struct {
	HookEventName  string `json:"hook_event_name"`
	ToolName       string `json:"tool_name"`
	CWD            string `json:"cwd"`
	StopHookActive bool   `json:"stop_hook_active"`
	ToolInput      struct {
		Command *string `json:"command"`
	} `json:"tool_input"`
}

func readClaudeInput(r io.Reader) (claudeInput, error) {
	var in claudeInput
	b, err := io.ReadAll(io.LimitReader(r, 16<<20))
	if err != nil {
		return in, fmt.Errorf("cannot read the hook input: %v", err)
	}
	if err := json.Unmarshal(b, &in); err != nil {
		return in, fmt.Errorf("the hook input is not the JSON object Claude Code sends (%v)", err)
	}
	return in, nil
}

// hookRoot picks the workspace: --root, the client's cwd,
// $CLAUDE_PROJECT_DIR, the process's directory.
func hookRoot(env *cliEnv, flagRoot, cwd string) (string, error) {
	for _, r := range []string{flagRoot, cwd, env.getenv("CLAUDE_PROJECT_DIR")} {
		if r != "" {
			return r, nil
		}
	}
	return os.Getwd()
}

func openHookWorkspace(ctx context.Context, root string) (*sandbox.Workspace, error) {
	return sandbox.Open(ctx, sandbox.Config{Root: root, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
}

// preToolUse blocks (exit 2, reason on stderr) a Bash command that could
// land or publish an ungated tree. Every failure blocks as well: Claude
// Code lets the call through on any other exit code.
func preToolUse(ctx context.Context, env *cliEnv, flagRoot string) (err error) {
	block := func(reason string) error {
		fmt.Fprintln(env.stderr, "factory: "+reason)
		return exitError{2}
	}
	defer func() {
		if r := recover(); r != nil {
			err = block(fmt.Sprintf("the gate hook failed (%v), so the command is blocked; run factory doctor", r))
		}
	}()
	in, err := readClaudeInput(env.stdin)
	if err != nil {
		return block(err.Error() + "; blocked to be safe")
	}
	if in.ToolName != "Bash" {
		return nil // the hook is registered for Bash; other tools run no shell
	}
	if in.ToolInput.Command == nil {
		return block("the Bash hook input has no tool_input.command; blocked to be safe")
	}
	a := gatehooks.Analyze(*in.ToolInput.Command)
	if a.Tamper != "" {
		return block("blocked: " + a.Tamper + ". factory's hooks and records are the person's to change: ask them")
	}
	if !a.NeedsGate() {
		return nil
	}
	root, err := hookRoot(env, flagRoot, in.CWD)
	if err != nil {
		return block("cannot find the workspace (" + err.Error() + "); blocked to be safe")
	}
	ws, err := openHookWorkspace(ctx, root)
	if err != nil {
		return block(factory.ErrorMessage(err) + "; blocked to be safe")
	}
	if why, err := gateRefusal(ctx, ws, a); err != nil {
		return block("cannot check the working tree against the gate (" + factory.ErrorMessage(err) + "); blocked to be safe")
	} else if why != "" {
		return block(why)
	}
	return nil
}

// gateRefusal says why the command analysed as a must not run now, or ""
// when everything it could land or publish was accepted.
func gateRefusal(ctx context.Context, ws *sandbox.Workspace, a gatehooks.Analysis) (string, error) {
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
			files, err := unjudgedList(ctx, ws, st)
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

// unjudgedList names the unjudged paths, at most ten.
func unjudgedList(ctx context.Context, ws *sandbox.Workspace, st sandbox.GateStatus) (string, error) {
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

// stopHook tells the agent, once per stop, which working-tree changes no
// gate has judged: Claude Code reads {"decision":"block","reason":...} on
// stdout and keeps going with the reason. With stop_hook_active (the
// agent is already continuing because of a Stop hook) it stays quiet, so
// it never loops.
func stopHook(ctx context.Context, env *cliEnv, flagRoot string) error {
	in, err := readClaudeInput(env.stdin)
	if err == nil && in.StopHookActive {
		return nil
	}
	reason, err := stopReason(ctx, env, flagRoot, in, err)
	if err != nil {
		reason = "factory could not check the working tree against the gate (" + factory.ErrorMessage(err) + "); run factory doctor, and treat your changes as not judged"
	}
	if reason == "" {
		return nil
	}
	return json.NewEncoder(env.stdout).Encode(map[string]string{"decision": "block", "reason": reason})
}

func stopReason(ctx context.Context, env *cliEnv, flagRoot string, in claudeInput, inErr error) (string, error) {
	if inErr != nil {
		return "", inErr
	}
	root, err := hookRoot(env, flagRoot, in.CWD)
	if err != nil {
		return "", err
	}
	ws, err := openHookWorkspace(ctx, root)
	if err != nil {
		return "", err
	}
	st, err := ws.Gate(ctx, "")
	if err != nil {
		return "", err
	}
	if st.LiveAccepted {
		return "", nil
	}
	files, err := unjudgedList(ctx, ws, st)
	if err != nil {
		return "", err
	}
	return "These working-tree changes have not been judged by a gate: " + files + ". Call the change_propose tool to judge (and land) them, or revert them; if you leave them, say so plainly in your answer.", nil
}

// gitPreCommit refuses (exit 1, git aborts) a commit whose tree the gate
// did not accept. Failures refuse too.
func gitPreCommit(ctx context.Context, env *cliEnv, flagRoot string) (err error) {
	refuse := func(reason string) error {
		fmt.Fprintln(env.stderr, "factory: "+reason+" (git commit --no-verify skips this check deliberately)")
		return exitError{1}
	}
	defer func() {
		if r := recover(); r != nil {
			err = refuse(fmt.Sprintf("the gate hook failed (%v); run factory doctor", r))
		}
	}()
	root := flagRoot
	if root == "" {
		if root, err = os.Getwd(); err != nil { // git runs the hook at the top of the working tree
			return refuse("cannot find the workspace: " + err.Error())
		}
	}
	index := env.getenv("GIT_INDEX_FILE") // git names the index it is about to commit
	if index != "" && !filepath.IsAbs(index) {
		wd, err := os.Getwd()
		if err != nil {
			return refuse("cannot resolve GIT_INDEX_FILE: " + err.Error())
		}
		index = filepath.Join(wd, index)
	}
	ws, err := openHookWorkspace(ctx, root)
	if err != nil {
		return refuse(factory.ErrorMessage(err))
	}
	tree, err := ws.IndexTree(ctx, index)
	if err != nil {
		return refuse("cannot read the tree being committed: " + factory.ErrorMessage(err))
	}
	if !ws.Committable(ctx, tree) {
		return refuse("this commit's tree " + tree[:12] + " was not accepted by the gate. Let the agent call the change_propose tool on these changes (commit: true commits exactly the judged tree), or commit only a tree it accepted")
	}
	return nil
}
