package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/factory-dev/factory"
	"github.com/factory-dev/factory/internal/gatedoor"
	"github.com/factory-dev/factory/internal/gatehooks"
	"github.com/factory-dev/factory/sandbox"
)

// The hooks that make the gate the way into the branch: this file reads
// each client's input and turns gatedoor's answers into exit codes.

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
	if why, err := gatedoor.CommandRefusal(ctx, ws, a); err != nil {
		return block("cannot check the working tree against the gate (" + factory.ErrorMessage(err) + "); blocked to be safe")
	} else if why != "" {
		return block(why)
	}
	return nil
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
	return gatedoor.StopReason(ctx, ws)
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
	why, err := gatedoor.CommitRefusal(ctx, ws, index)
	if err != nil {
		return refuse("cannot read the tree being committed: " + factory.ErrorMessage(err))
	}
	if why != "" {
		return refuse(why)
	}
	return nil
}
