package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/factory-dev/factory/internal/attacktest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// hookGit runs git in repo as a person would (their hooks run), with a
// fixed identity and no global configuration.
func hookGit(t *testing.T, repo string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-C", repo}, args...)...)
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com",
		"GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com", "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

func mustGit(t *testing.T, repo string, args ...string) string {
	t.Helper()
	out, err := hookGit(t, repo, args...)
	require.NoError(t, err, out)
	return out
}

// hookCLI runs the real binary with stdin and returns exit code, stdout,
// stderr.
func hookCLI(t *testing.T, bin, stdin string, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else {
		require.NoError(t, err)
	}
	return code, out.String(), errb.String()
}

// bashInput is Claude Code's PreToolUse input for a Bash command.
func bashInput(t *testing.T, repo, command string) string {
	b, err := json.Marshal(map[string]any{"session_id": "s1", "hook_event_name": "PreToolUse", "cwd": repo,
		"tool_name": "Bash", "tool_input": map[string]any{"command": command, "description": "x"}})
	require.NoError(t, err)
	return string(b)
}

// gatedRepo is a repository with a committed factory.yaml whose one gate
// refuses the word "bad" in a.txt, and factory's hooks installed by the
// real binary.
func gatedRepo(t *testing.T) (repo, bin string) {
	t.Helper()
	repo = gitRepo(t)
	require.NoError(t, os.WriteFile(filepath.Join(repo, "factory.yaml"), []byte("version: 1\ngates:\n  clean: {run: [sh, -c, \"! grep -q bad a.txt\"]}\ninvariants:\n  - {id: clean, expr: \"clean.exit_code == 0\"}\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(repo, "a.txt"), []byte("one\n"), 0o644))
	mustGit(t, repo, "add", "-A")
	mustGit(t, repo, "commit", "-qm", "config")
	bin = binary(t)
	code, out, errOut := hookCLI(t, bin, "", "init", "--hooks", "--root", repo)
	require.Equal(t, 0, code, out+errOut)
	assert.Contains(t, out, "left as it is")
	// the person commits the new hook settings, deliberately past the gate
	mustGit(t, repo, "add", ".claude/settings.json")
	mustGit(t, repo, "commit", "-qm", "gate hooks", "--no-verify")
	return repo, bin
}

// attack: the agent edits the tree with its own tools and runs `git commit`
// (plain, -a, --no-verify, behind cd/sh -c) through Bash, skipping the
// gate -> the PreToolUse hook exits 2 naming change_propose and the files,
// and the repository is byte-identical; once change_propose accepted that
// tree the same command is let through (exit 0)
func TestAttackPreToolUseBlocksAnUngatedCommitUntilTheGateAccepts(t *testing.T) {
	repo, bin := gatedRepo(t)
	require.NoError(t, os.WriteFile(filepath.Join(repo, "a.txt"), []byte("two\n"), 0o644))
	watched := gitState(repo, "a.txt", "factory.yaml")
	before := attacktest.Take(t, watched...)
	for _, c := range []string{`git commit -m x`, `git commit -am x`, `git add -A && git commit --no-verify -m x`,
		`cd ` + repo + ` && git commit -qm x`, `bash -lc 'git commit -m x'`} {
		code, _, errOut := hookCLI(t, bin, bashInput(t, repo, c), "hook", "claude-pre-tool-use")
		assert.Equal(t, 2, code, c)
		assert.Contains(t, errOut, "change_propose", c)
		assert.Contains(t, errOut, "a.txt", c)
	}
	attacktest.Unchanged(t, before, watched...)

	// an ordinary command is never held up
	code, _, errOut := hookCLI(t, bin, bashInput(t, repo, "go test ./..."), "hook", "claude-pre-tool-use")
	assert.Equal(t, 0, code, errOut)

	// the gate accepts the same change: now the commit may run
	require.NoError(t, os.WriteFile(filepath.Join(repo, "a.txt"), []byte("one\n"), 0o644))
	patch := "--- a/a.txt\n+++ b/a.txt\n@@ -1 +1 @@\n-one\n+two\n"
	args, _ := json.Marshal(map[string]any{"patch": patch})
	code, out, errOut := hookCLI(t, bin, "", "call", "--root", repo, "change_propose", string(args))
	require.Equal(t, 0, code, out+errOut)
	code, _, errOut = hookCLI(t, bin, bashInput(t, repo, `git add -A && git commit -m x`), "hook", "claude-pre-tool-use")
	assert.Equal(t, 0, code, errOut)
	mustGit(t, repo, "add", "-A")
	mustGit(t, repo, "commit", "-qm", "gated", "-m", "through the installed pre-commit hook")
	code, _, errOut = hookCLI(t, bin, bashInput(t, repo, `git commit --amend -m y`), "hook", "claude-pre-tool-use")
	assert.Equal(t, 0, code, "a clean tree is HEAD's: "+errOut)
	code, _, errOut = hookCLI(t, bin, bashInput(t, repo, `git push origin main`), "hook", "claude-pre-tool-use")
	assert.Equal(t, 0, code, "HEAD's tree was accepted: "+errOut)
}

// attack: the agent commits an ungated tree with a real `git commit`
// (which runs the installed pre-commit hook), staged, with -a, or with a
// path -> git aborts, naming change_propose; HEAD and the branch do not
// move. A gated tree commits, and the hook that was there before runs
// after factory's check.
func TestAttackGitPreCommitRefusesAnUngatedCommit(t *testing.T) {
	repo := gitRepo(t)
	require.NoError(t, os.WriteFile(filepath.Join(repo, "factory.yaml"), []byte("version: 1\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(repo, "a.txt"), []byte("one\n"), 0o644))
	mustGit(t, repo, "add", "-A")
	mustGit(t, repo, "commit", "-qm", "config")
	// a hook of the person's, to be chained
	prev := filepath.Join(repo, ".git", "hooks", "pre-commit")
	require.NoError(t, os.WriteFile(prev, []byte("#!/bin/sh\necho ran >> \"$(git rev-parse --git-dir)/chained.log\"\n"), 0o755))
	bin := binary(t)
	code, out, errOut := hookCLI(t, bin, "", "init", "--hooks", "--root", repo)
	require.Equal(t, 0, code, out+errOut)
	assert.Contains(t, out, "pre-commit.factory-chained")
	mustGit(t, repo, "add", ".claude/settings.json")
	mustGit(t, repo, "commit", "-qm", "gate hooks", "--no-verify")

	head := mustGit(t, repo, "rev-parse", "HEAD")
	require.NoError(t, os.WriteFile(filepath.Join(repo, "a.txt"), []byte("ungated\n"), 0o644))
	before := attacktest.Take(t, filepath.Join(repo, ".git", "refs"), filepath.Join(repo, ".git", "HEAD"))
	for _, args := range [][]string{{"commit", "-qam", "x"}, {"commit", "-qm", "x", "--", "a.txt"}} {
		out, err := hookGit(t, repo, args...)
		require.Error(t, err, "git %v must be refused", args)
		assert.Contains(t, out, "change_propose")
		assert.Contains(t, out, "--no-verify")
	}
	mustGit(t, repo, "add", "a.txt")
	out, err := hookGit(t, repo, "commit", "-qm", "x")
	require.Error(t, err)
	assert.Contains(t, out, "not accepted by the gate")
	assert.Equal(t, head, mustGit(t, repo, "rev-parse", "HEAD"))
	attacktest.Unchanged(t, before, filepath.Join(repo, ".git", "refs"), filepath.Join(repo, ".git", "HEAD"))
	_, err = os.Stat(filepath.Join(repo, ".git", "chained.log"))
	assert.True(t, os.IsNotExist(err), "a refused commit runs no chained hook")

	// the gate accepts a tree: committing exactly it goes through, and the
	// person's hook runs after factory's check
	mustGit(t, repo, "reset", "-q")
	require.NoError(t, os.WriteFile(filepath.Join(repo, "a.txt"), []byte("one\n"), 0o644))
	args, _ := json.Marshal(map[string]any{"patch": "--- a/a.txt\n+++ b/a.txt\n@@ -1 +1 @@\n-one\n+two\n"})
	code, out, errOut = hookCLI(t, bin, "", "call", "--root", repo, "change_propose", string(args))
	require.Equal(t, 0, code, out+errOut)
	mustGit(t, repo, "commit", "-qam", "gated")
	log, err := os.ReadFile(filepath.Join(repo, ".git", "chained.log"))
	require.NoError(t, err)
	assert.Equal(t, "ran\n", string(log))
	// the person's deliberate escape stays
	require.NoError(t, os.WriteFile(filepath.Join(repo, "a.txt"), []byte("by hand\n"), 0o644))
	mustGit(t, repo, "commit", "-qam", "mine", "--no-verify")
	// ...and publishing that ungated HEAD through the agent's shell is refused
	code, _, errOut = hookCLI(t, bin, bashInput(t, repo, "git push origin main"), "hook", "claude-pre-tool-use")
	assert.Equal(t, 2, code)
	assert.Contains(t, errOut, "HEAD's tree was never accepted")
}

// gitState lists what an attack must leave byte-identical in repo: the
// index, HEAD, every ref, the hooks and the config, plus the named paths.
// New loose objects are not listed: capturing the working tree stores its
// blobs as a snapshot does, unreferenced and content-addressed.
func gitState(repo string, paths ...string) []string {
	out := []string{}
	for _, p := range []string{"index", "HEAD", "refs", "packed-refs", "hooks", "config"} {
		out = append(out, filepath.Join(repo, ".git", p))
	}
	for _, p := range paths {
		out = append(out, filepath.Join(repo, p))
	}
	return out
}

// attack: the hook's input is unreadable (not JSON, empty, no command, a
// command that does not parse) -> the PreToolUse hook blocks (exit 2):
// any other exit code would let the call through
func TestAttackAHookThatCannotReadItsInputBlocks(t *testing.T) {
	repo, bin := gatedRepo(t)
	watched := gitState(repo)
	before := attacktest.Take(t, watched...)
	for name, in := range map[string]string{
		"not json":   "{not json",
		"empty":      "",
		"no command": `{"tool_name":"Bash","tool_input":{},"cwd":"` + repo + `"}`,
	} {
		code, _, errOut := hookCLI(t, bin, in, "hook", "claude-pre-tool-use")
		assert.Equal(t, 2, code, name)
		assert.Contains(t, errOut, "blocked", name)
	}
	require.NoError(t, os.WriteFile(filepath.Join(repo, "a.txt"), []byte("two\n"), 0o644))
	code, _, errOut := hookCLI(t, bin, bashInput(t, repo, `git commit -m 'unterminated`), "hook", "claude-pre-tool-use")
	assert.Equal(t, 2, code)
	assert.Contains(t, errOut, "cannot tell what this runs")
	code, _, errOut = hookCLI(t, bin, bashInput(t, t.TempDir(), `git commit -m x`), "hook", "claude-pre-tool-use")
	assert.Equal(t, 2, code, "outside any repository: blocked, not waved through")
	assert.Contains(t, errOut, "blocked to be safe")
	code, _, _ = hookCLI(t, bin, bashInput(t, repo, `git commit -m x`), "hook", "no-such-event")
	assert.Equal(t, 2, code)
	attacktest.Unchanged(t, before, watched...)
}

// attack: the agent switches the gate off through the shell (core.hooksPath,
// deleting the git hook, writing an accepted ref, editing
// .claude/settings.json) -> blocked whatever the tree, the hooks and
// records byte-identical
func TestAttackPreToolUseRefusesTamperingWithTheHooks(t *testing.T) {
	repo, bin := gatedRepo(t)
	watched := gitState(repo, ".claude")
	before := attacktest.Take(t, watched...)
	for _, c := range []string{`git config core.hooksPath /dev/null`, `rm -f .git/hooks/pre-commit`,
		`git -c core.hooksPath=/dev/null commit -m x`, `git update-ref refs/factory/accepted/$(git write-tree) HEAD`,
		`echo '{}' > .claude/settings.json`} {
		code, _, errOut := hookCLI(t, bin, bashInput(t, repo, c), "hook", "claude-pre-tool-use")
		assert.Equal(t, 2, code, c)
		assert.Contains(t, errOut, "ask them", c)
	}
	attacktest.Unchanged(t, before, watched...)
}

// attack: factory's binary moved after the hooks were installed, so the
// git hook cannot ask it -> the commit is refused with how to fix it, not
// let through
func TestAttackAMovedBinaryRefusesTheCommit(t *testing.T) {
	repo := gitRepo(t)
	moved := filepath.Join(t.TempDir(), "factory")
	b, err := os.ReadFile(binary(t))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(moved, b, 0o755))
	code, out, errOut := hookCLI(t, moved, "", "init", "--hooks", "--root", repo)
	require.Equal(t, 0, code, out+errOut)
	require.NoError(t, os.Remove(moved))
	require.NoError(t, os.WriteFile(filepath.Join(repo, "a.txt"), []byte("x\n"), 0o644))
	mustGit(t, repo, "add", "a.txt")
	head := mustGit(t, repo, "rev-parse", "HEAD")
	out, err = hookGit(t, repo, "commit", "-qm", "x")
	require.Error(t, err)
	assert.Contains(t, out, "factory init --hooks")
	assert.Equal(t, head, mustGit(t, repo, "rev-parse", "HEAD"))
}

func TestStopHookNamesUnjudgedChangesOnce(t *testing.T) {
	repo, bin := gatedRepo(t)
	stop := func(active bool) (int, string) {
		in, _ := json.Marshal(map[string]any{"hook_event_name": "Stop", "cwd": repo, "stop_hook_active": active})
		code, out, errOut := hookCLI(t, bin, string(in), "hook", "claude-stop")
		require.Equal(t, 0, code, errOut)
		return code, out
	}
	_, out := stop(false)
	assert.Empty(t, out, "a clean tree: nothing to say")
	require.NoError(t, os.WriteFile(filepath.Join(repo, "a.txt"), []byte("two\n"), 0o644))
	_, out = stop(false)
	var d struct{ Decision, Reason string }
	require.NoError(t, json.Unmarshal([]byte(out), &d), out)
	assert.Equal(t, "block", d.Decision)
	assert.Contains(t, d.Reason, "a.txt")
	assert.Contains(t, d.Reason, "change_propose")
	_, out = stop(true)
	assert.Empty(t, out, "stop_hook_active: no second block, no loop")
}

func TestInitHooksMergesSettingsAndIsIdempotent(t *testing.T) {
	repo := gitRepo(t)
	settings := filepath.Join(repo, ".claude", "settings.json")
	require.NoError(t, os.MkdirAll(filepath.Dir(settings), 0o755))
	require.NoError(t, os.WriteFile(settings, []byte(`{"model":"x","hooks":{"PreToolUse":[{"matcher":"Edit","hooks":[{"type":"command","command":"mine"}]}]}}`), 0o644))
	bin := binary(t)
	code, out, errOut := hookCLI(t, bin, "", "doctor", "--root", repo)
	assert.Contains(t, out, "factory init --hooks", errOut)
	for range 2 {
		code, out, errOut = hookCLI(t, bin, "", "init", "--hooks", "--root", repo)
		require.Equal(t, 0, code, out+errOut)
	}
	b, err := os.ReadFile(settings)
	require.NoError(t, err)
	s := string(b)
	assert.Contains(t, s, `"model": "x"`)
	assert.Contains(t, s, `"mine"`)
	assert.Equal(t, 1, strings.Count(s, "hook claude-pre-tool-use"), s)
	assert.Equal(t, 1, strings.Count(s, "hook claude-stop"), s)
	assert.Contains(t, s, bin, "hooks call factory by its absolute path")
	hook, err := os.ReadFile(filepath.Join(repo, ".git", "hooks", "pre-commit"))
	require.NoError(t, err)
	assert.Contains(t, string(hook), bin)
	_, err = os.Stat(filepath.Join(repo, ".git", "hooks", "pre-commit.factory-chained"))
	assert.True(t, os.IsNotExist(err), "a second install does not chain factory's hook to itself")
	code, out, _ = hookCLI(t, bin, "", "doctor", "--root", repo)
	assert.Contains(t, out, "ok   hooks")
	_ = code
}

// The natural path: the agent edits with its own editor, change_propose {}
// judges the working tree against HEAD, and its acceptance opens the door
// for the agent's own `git commit` (hook and real pre-commit); a rejected
// working tree keeps it shut.
func TestWorkingTreeAcceptanceOpensTheDoor(t *testing.T) {
	repo, bin := gatedRepo(t)
	require.NoError(t, os.WriteFile(filepath.Join(repo, "a.txt"), []byte("bad\n"), 0o644))
	code, out, errOut := hookCLI(t, bin, "", "call", "--root", repo, "change_propose", "{}")
	require.Equal(t, 1, code, "a rejection exits 1 from factory call: "+out+errOut)
	assert.Contains(t, out, `"accepted": false`)
	code, _, _ = hookCLI(t, bin, bashInput(t, repo, `git commit -am x`), "hook", "claude-pre-tool-use")
	assert.Equal(t, 2, code, "a rejected tree stays ungated")

	require.NoError(t, os.WriteFile(filepath.Join(repo, "a.txt"), []byte("good\n"), 0o644))
	code, out, errOut = hookCLI(t, bin, "", "call", "--root", repo, "change_propose", "{}")
	require.Equal(t, 0, code, out+errOut)
	assert.Contains(t, out, `"accepted": true`)
	code, _, errOut = hookCLI(t, bin, bashInput(t, repo, `git commit -am x`), "hook", "claude-pre-tool-use")
	assert.Equal(t, 0, code, "the accepted working tree may be committed: "+errOut)
	mustGit(t, repo, "commit", "-qam", "gated by change_propose {}")
	assert.Equal(t, "good\n", mustGit(t, repo, "show", "HEAD:a.txt")+"\n")
}
