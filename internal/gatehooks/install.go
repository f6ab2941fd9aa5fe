package gatehooks

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Hook events of `factory hook EVENT`.
const (
	EventGitPreCommit = "git-pre-commit"
	EventPreToolUse   = "claude-pre-tool-use"
	EventStop         = "claude-stop"
)

// gitHookMark identifies factory's git hook, so a second install rewrites
// it instead of chaining it to itself.
const gitHookMark = "# factory gate hook (written by `factory init --hooks`)"

// ChainedSuffix names the hook that was there before factory's: factory's
// hook runs it after its own check.
const ChainedSuffix = ".factory-chained"

// GitHookScript is the pre-commit hook: a few lines of sh that run
// `factory hook git-pre-commit` by factory's absolute path (git runs hooks
// with whatever PATH the committer has), then the chained hook. A factory
// binary that moved refuses the commit, saying how to fix it: a missing
// gate must not read as a passed one.
func GitHookScript(factoryBin string) string {
	q := shellQuote(factoryBin)
	return `#!/bin/sh
` + gitHookMark + `
# It refuses a commit whose tree factory's gate has not accepted.
# git commit --no-verify skips it: that is the person's deliberate escape.
factory=` + q + `
if [ ! -x "$factory" ]; then
	echo "factory: the gate hook cannot run $factory (moved or removed); re-run 'factory init --hooks', or commit with --no-verify to skip the gate deliberately" >&2
	exit 1
fi
"$factory" hook ` + EventGitPreCommit + ` || exit 1
chained="$(dirname "$0")/pre-commit` + ChainedSuffix + `"
if [ -x "$chained" ]; then
	exec "$chained" "$@"
fi
exit 0
`
}

// shellQuote quotes s for sh: single quotes, each ' written as '\”.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// InstallGitHook writes factory's pre-commit hook at path (where git looks
// for it: `git rev-parse --git-path hooks/pre-commit`). A hook of factory's
// is rewritten (the binary may have moved); any other hook is renamed to
// path+ChainedSuffix and run after factory's check. It says what it did.
func InstallGitHook(path, factoryBin string) (string, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return "", err
	}
	old, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return "", err
	case bytes.Contains(old, []byte(gitHookMark)):
		return "updated factory's git pre-commit hook " + path, writeExecutable(path, GitHookScript(factoryBin))
	default:
		chained := path + ChainedSuffix
		if _, err := os.Lstat(chained); err == nil {
			return "", fmt.Errorf("%s is not factory's hook, and %s exists already; merge them by hand into %s, then run factory init --hooks again", path, chained, chained)
		}
		if err := os.Rename(path, chained); err != nil {
			return "", err
		}
		if err := writeExecutable(path, GitHookScript(factoryBin)); err != nil {
			os.Rename(chained, path) // put the person's hook back
			return "", err
		}
		return "wrote factory's git pre-commit hook " + path + "; the hook that was there runs after it, as " + chained, nil
	}
	return "wrote factory's git pre-commit hook " + path, writeExecutable(path, GitHookScript(factoryBin))
}

// writeExecutable writes data to path through a temporary file renamed in
// place, so git never runs half a hook.
func writeExecutable(path, data string) error {
	tmp := path + ".factory-tmp"
	if err := os.WriteFile(tmp, []byte(data), 0o755); err != nil {
		return err
	}
	if err := os.Chmod(tmp, 0o755); err != nil { // WriteFile's mode is masked by umask
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

// GitHookInstalled says whether the file at path is factory's hook.
func GitHookInstalled(path string) bool {
	b, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	fi, err := os.Stat(path)
	return err == nil && fi.Mode()&0o111 != 0 && bytes.Contains(b, []byte(gitHookMark))
}

// ClaudeSettingsPath is the project settings file Claude Code reads hooks
// from, under the repository's top directory.
func ClaudeSettingsPath(root string) string {
	return filepath.Join(root, ".claude", "settings.json")
}

// ClaudeCommand is the hook command line for event: factory's absolute
// path, quoted for the shell Claude Code runs it with.
func ClaudeCommand(factoryBin, event string) string {
	return shellQuote(factoryBin) + " hook " + event
}

// InstallClaudeHooks merges factory's PreToolUse (matcher Bash) and Stop
// hooks into the settings file at path, keeping every other key and hook.
// An entry of factory's already there (any path to factory, same event) is
// replaced, so running it twice adds nothing twice.
func InstallClaudeHooks(path, factoryBin string) (string, error) {
	settings := map[string]any{}
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return "", err
	default:
		if len(bytes.TrimSpace(b)) > 0 {
			if err := json.Unmarshal(b, &settings); err != nil {
				return "", fmt.Errorf("%s is not valid JSON (%v); fix it, then run factory init --hooks again", path, err)
			}
		}
	}
	hooks, ok := settings["hooks"].(map[string]any)
	if settings["hooks"] != nil && !ok {
		return "", fmt.Errorf("%s: \"hooks\" is not an object; fix it, then run factory init --hooks again", path)
	}
	if hooks == nil {
		hooks = map[string]any{}
	}
	for _, h := range []struct{ event, matcher, cmd string }{
		{"PreToolUse", "Bash", ClaudeCommand(factoryBin, EventPreToolUse)},
		{"Stop", "", ClaudeCommand(factoryBin, EventStop)},
	} {
		groups, err := withoutFactory(hooks[h.event], path, h.event)
		if err != nil {
			return "", err
		}
		group := map[string]any{"hooks": []any{map[string]any{"type": "command", "command": h.cmd, "timeout": 60}}}
		if h.matcher != "" {
			group["matcher"] = h.matcher
		}
		hooks[h.event] = append(groups, group)
	}
	settings["hooks"] = hooks
	out, err := json.MarshalIndent(settings, "", "  ")
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return "", err
	}
	tmp := path + ".factory-tmp"
	if err := os.WriteFile(tmp, append(out, '\n'), 0o644); err != nil {
		return "", err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return "", err
	}
	return "wrote factory's Claude Code hooks (PreToolUse on Bash, Stop) into " + path, nil
}

// withoutFactory returns the hook groups of one event with factory's own
// entries removed (groups left empty are dropped).
func withoutFactory(v any, path, event string) ([]any, error) {
	if v == nil {
		return nil, nil
	}
	groups, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("%s: hooks.%s is not a list; fix it, then run factory init --hooks again", path, event)
	}
	var out []any
	for _, g := range groups {
		gm, ok := g.(map[string]any)
		if !ok {
			out = append(out, g)
			continue
		}
		entries, _ := gm["hooks"].([]any)
		var kept []any
		for _, e := range entries {
			if em, ok := e.(map[string]any); ok && isFactoryCommand(em["command"]) {
				continue
			}
			kept = append(kept, e)
		}
		if len(entries) > 0 && len(kept) == 0 {
			continue
		}
		if len(kept) != len(entries) {
			gm["hooks"] = kept
		}
		out = append(out, gm)
	}
	return out, nil
}

func isFactoryCommand(v any) bool {
	s, _ := v.(string)
	return strings.Contains(s, " hook "+EventPreToolUse) || strings.Contains(s, " hook "+EventStop)
}

// ClaudeHooksInstalled says whether the settings file at path holds
// factory's PreToolUse hook on Bash and its Stop hook.
func ClaudeHooksInstalled(path string) bool {
	b, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	var s struct {
		Hooks map[string][]struct {
			Matcher string `json:"matcher"`
			Hooks   []struct {
				Command string `json:"command"`
			} `json:"hooks"`
		} `json:"hooks"`
	}
	if json.Unmarshal(b, &s) != nil {
		return false
	}
	has := func(event, suffix string, bash bool) bool {
		for _, g := range s.Hooks[event] {
			if bash && g.Matcher != "Bash" && g.Matcher != "*" && g.Matcher != "" {
				continue
			}
			for _, h := range g.Hooks {
				if strings.HasSuffix(h.Command, " hook "+suffix) {
					return true
				}
			}
		}
		return false
	}
	return has("PreToolUse", EventPreToolUse, true) && has("Stop", EventStop, false)
}
