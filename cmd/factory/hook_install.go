package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/factory-dev/factory"
	"github.com/factory-dev/factory/internal/gatehooks"
	"github.com/factory-dev/factory/sandbox"
)

// installHooks writes the git pre-commit hook where git looks for it and
// merges the Claude Code hooks into .claude/settings.json, both calling
// this binary by its absolute path (clients run hooks with their own
// PATH). HEAD's tree is recorded as accepted: the history before the gate
// is the person's, taken as it is, so pushing it is not refused.
func installHooks(ctx context.Context, env *cliEnv, ws *sandbox.Workspace) error {
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("cannot find factory's own path for the hooks: %w", err)
	}
	if exe, err = filepath.Abs(exe); err != nil {
		return err
	}
	hookPath, err := ws.GitPath(ctx, "hooks/pre-commit")
	if err != nil {
		return err
	}
	msg, err := gatehooks.InstallGitHook(hookPath, exe)
	if err != nil {
		return err
	}
	fmt.Fprintln(env.stdout, msg)
	if msg, err = gatehooks.InstallClaudeHooks(gatehooks.ClaudeSettingsPath(ws.Root()), exe); err != nil {
		return err
	}
	fmt.Fprintln(env.stdout, msg)
	head, err := ws.SnapshotRevision(ctx, "HEAD", "gate hooks baseline")
	switch {
	case factory.ErrorCode(err) == factory.ENOTFOUND: // no commit yet
	case err != nil:
		return err
	default:
		if err := ws.MarkAccepted(ctx, head.ID); err != nil {
			return err
		}
		fmt.Fprintf(env.stdout, "recorded HEAD's tree %s as accepted: the history before the gate is taken as it is\n", head.Tree[:12])
	}
	fmt.Fprintln(env.stdout, "Commits now go through the gate: change_propose judges and lands changes; git commit --no-verify is the person's deliberate escape.")
	fmt.Fprintln(env.stdout, "Commit the hook settings yourself, past the gate: git add .claude/settings.json && git commit --no-verify -m \"factory: gate hooks\"")
	return nil
}
