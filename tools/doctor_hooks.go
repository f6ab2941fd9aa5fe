package tools

import (
	"context"
	"strings"

	"github.com/factory-dev/factory/internal/gatehooks"
	"github.com/factory-dev/factory/sandbox"
)

// HooksCheck reports whether the hooks that make the gate the way into the
// branch are installed: factory's git pre-commit hook where git looks for
// it, and its Claude Code PreToolUse (Bash) and Stop hooks in
// .claude/settings.json. Not required: without them the gate is a tool the
// agent may skip.
func HooksCheck(ctx context.Context, ws *sandbox.Workspace) Check {
	c := Check{Name: "hooks", Fix: "factory init --hooks"}
	var missing []string
	hookPath, err := ws.GitPath(ctx, "hooks/pre-commit")
	if err != nil || !gatehooks.GitHookInstalled(hookPath) {
		missing = append(missing, "the git pre-commit hook")
	}
	settings := gatehooks.ClaudeSettingsPath(ws.Root())
	if !gatehooks.ClaudeHooksInstalled(settings) {
		missing = append(missing, "the Claude Code hooks in "+settings)
	}
	if len(missing) > 0 {
		c.Detail = "not installed: " + strings.Join(missing, " and ") + "; an agent can commit around the gate"
		return c
	}
	c.OK, c.Fix = true, ""
	c.Detail = "installed: git pre-commit (" + hookPath + ") and Claude Code PreToolUse/Stop (" + settings + ")"
	return c
}
