package main

// Attacks through the tools as an agent calls them (factory call, in
// process): the working tree's factory.yaml is the agent's to edit, so the
// rules, the protected paths and the sandbox policy must come from HEAD.

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/factory-dev/factory/internal/attacktest"
	"github.com/factory-dev/factory/internal/gittest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// committedRepo makes a repository with files committed and a git identity.
func committedRepo(t *testing.T, files map[string]string) string {
	t.Helper()
	repo := t.TempDir()
	gittest.Out(t, repo, "init", "-q", "-b", "main")
	gittest.Out(t, repo, "config", "user.name", "factory attack")
	gittest.Out(t, repo, "config", "user.email", "attack@factory.invalid")
	writeAll(t, repo, files)
	gittest.Out(t, repo, "add", "-A")
	gittest.Out(t, repo, "commit", "-q", "-m", "initial")
	return repo
}

func writeAll(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for p, c := range files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		require.NoError(t, os.MkdirAll(filepath.Dir(full), 0o755))
		require.NoError(t, os.WriteFile(full, []byte(c), 0o644))
	}
}

// diffOf returns the patch that writes files over the committed tree,
// leaving the working tree as it was.
func diffOf(t testing.TB, repo string, files map[string]string) string {
	t.Helper()
	writeAll(t, repo, files)
	patch := gittest.Out(t, repo, "diff") + "\n"
	gittest.Out(t, repo, "checkout", "--", ".")
	return patch
}

// callJSON runs a tool through factory call with args marshalled.
func callJSON(t testing.TB, repo, tool string, args any) (int, string, string) {
	t.Helper()
	b, err := json.Marshal(args)
	require.NoError(t, err)
	return cli(t, nil, "call", "--root", repo, tool, string(b))
}

// guardedState fingerprints the live tree and .git, without what factory
// owns (its object store, refs/factory/*, .git/factory).
func guardedState(t testing.TB, repo string, extra ...string) attacktest.State {
	t.Helper()
	s := attacktest.Take(t, append([]string{repo}, extra...)...)
	for p := range s {
		rel, _ := filepath.Rel(repo, p)
		for _, owned := range []string{".git/objects", ".git/refs/factory", ".git/factory"} {
			if rel == owned || strings.HasPrefix(filepath.ToSlash(rel), owned+"/") {
				delete(s, p)
			}
		}
	}
	return s
}

func readAt(t testing.TB, repo, p string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repo, p))
	require.NoError(t, err)
	return string(b)
}

func requireUnchanged(t testing.TB, before, after attacktest.State) {
	t.Helper()
	if d := before.Diff(after); len(d) > 0 {
		t.Fatalf("the attack changed host state:\n%s", strings.Join(d, "\n"))
	}
}

const protectRules = `version: 1
gates:
  ok: {run: ["true"]}
invariants:
  - {id: ok, expr: "ok.exit_code == 0"}
  - {id: golden-untouched, protect: ["golden/**", "factory.yaml"]}
`

// attack: patch_apply rewrites factory.yaml in the working tree without the protect rule, then change_propose edits the protected file -> rejected naming golden-untouched, saying factory.yaml has uncommitted changes; nothing else written
func TestAttackLoosenRulesWithPatchApplyThenProposeAProtectedEdit(t *testing.T) {
	repo := committedRepo(t, map[string]string{"factory.yaml": protectRules, "golden/want.txt": "golden\n", "a.txt": "a\n"})
	loosen := diffOf(t, repo, map[string]string{"factory.yaml": "version: 1\n"})
	edit := diffOf(t, repo, map[string]string{"golden/want.txt": "what the code prints now\n"})
	code, _, errOut := callJSON(t, repo, "patch_apply", map[string]any{"patch": loosen})
	require.Equal(t, 0, code, errOut)
	require.Equal(t, "version: 1\n", readAt(t, repo, "factory.yaml"))

	before := guardedState(t, repo)
	code, out, _ := callJSON(t, repo, "change_propose", map[string]any{"patch": edit, "commit": true})
	assert.Equal(t, 1, code, "a rejection exits 1, its result on stdout")
	assert.Contains(t, out, "golden-untouched")
	assert.Contains(t, out, "factory.yaml has uncommitted changes; they apply once committed")
	requireUnchanged(t, before, guardedState(t, repo))
}

// attack: loosen factory.yaml's sandbox section in the working tree (network on, isolation none), then test_run a suite that reaches the host's loopback and writes outside its copy -> it still runs isolated with no network: the suite passes, nothing is written, and the result says factory.yaml has uncommitted changes
func TestAttackLoosenTheSandboxThenRunTests(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	outside := t.TempDir()
	marker := filepath.Join(outside, "escaped")
	probe := fmt.Sprintf("echo out > %s 2>/dev/null; if (echo > /dev/tcp/127.0.0.1/%d) 2>/dev/null; then echo reached the network; exit 1; fi; exit 0", marker, port)
	rules := func(sandbox string) string {
		return fmt.Sprintf("version: 1\nsuites:\n  probe: {run: [bash, -c, %q], format: exit-code}\n%s", probe, sandbox)
	}
	repo := committedRepo(t, map[string]string{"factory.yaml": rules("sandbox: {network: false}\n")})
	writeAll(t, repo, map[string]string{"factory.yaml": rules("sandbox: {network: true, isolation: none}\n")})

	before := guardedState(t, repo, marker)
	code, out, errOut := callJSON(t, repo, "test_run", map[string]any{})
	require.Equal(t, 0, code, errOut)
	var rep struct {
		Status     string `json:"status"`
		ConfigNote string `json:"config_note"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &rep), out)
	assert.Equal(t, "pass", rep.Status, "the probe reached the network or the host: %s", out)
	assert.Equal(t, "factory.yaml has uncommitted changes; they apply once committed", rep.ConfigNote)
	assert.NoFileExists(t, marker)
	requireUnchanged(t, before, guardedState(t, repo, marker))

	// The probe can tell: once a person commits the loosening, it applies.
	gittest.Out(t, repo, "commit", "-q", "-am", "loosen the sandbox")
	_, out, _ = callJSON(t, repo, "test_run", map[string]any{})
	require.NoError(t, json.Unmarshal([]byte(out), &rep), out)
	assert.Equal(t, "fail", rep.Status, out)
	assert.FileExists(t, marker)
}

// attack: a repository whose .gitignore has /*.yaml, so factory.yaml can never be committed and every gate fails with advice that cannot work -> init and doctor name the rule and file and say to add !factory.yaml or git add -f; .git is unchanged
func TestAttackGitignoredConfig(t *testing.T) {
	repo := committedRepo(t, map[string]string{".gitignore": "/*.yaml\n", "go.mod": "module example.com/m\n\ngo 1.22\n"})
	code, _, errOut := cli(t, nil, "init", "--root", repo)
	assert.Equal(t, 1, code)
	for _, want := range []string{`"/*.yaml"`, ".gitignore:1", "!factory.yaml", "git add -f factory.yaml"} {
		assert.Contains(t, errOut, want)
	}

	before := guardedState(t, repo)
	code, out, _ := cli(t, nil, "doctor", "--root", repo)
	assert.Equal(t, 1, code)
	assert.Contains(t, out, "FAIL config ignored")
	for _, want := range []string{`"/*.yaml"`, ".gitignore:1", "!factory.yaml", "git add -f factory.yaml"} {
		assert.Contains(t, out, want)
	}
	assert.Contains(t, out, "not committed at HEAD")
	requireUnchanged(t, before, guardedState(t, repo))
}

// attack: raise factory.yaml's patch write limit in the working tree, then patch_apply a file over the committed limit -> refused with EINVALID naming the limit and where it is set; the live tree and .git unchanged
func TestAttackRaisePatchLimitInTheWorkingTree(t *testing.T) {
	rules := "version: 1\npatch: {max_write: 1KiB}\n"
	repo := committedRepo(t, map[string]string{"factory.yaml": rules, "a.txt": "a\n"})
	big := strings.Repeat("0123456789abcdef\n", 200) // 3.4 KB
	patch := diffOf(t, repo, map[string]string{"a.txt": big})
	writeAll(t, repo, map[string]string{"factory.yaml": "version: 1\npatch: {max_write: 1GiB}\n"})

	before := guardedState(t, repo)
	code, _, errOut := callJSON(t, repo, "patch_apply", map[string]any{"patch": patch})
	assert.Equal(t, 1, code)
	assert.Contains(t, errOut, "patch.max_write in factory.yaml")
	assert.Contains(t, errOut, "1024")
	requireUnchanged(t, before, guardedState(t, repo))

	// once a person commits a higher limit, the same patch applies
	gittest.Out(t, repo, "commit", "-qam", "raise the patch limit")
	code, _, errOut = callJSON(t, repo, "patch_apply", map[string]any{"patch": patch})
	require.Equal(t, 0, code, errOut)
	require.Equal(t, big, readAt(t, repo, "a.txt"))
}
