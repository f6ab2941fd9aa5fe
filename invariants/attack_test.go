package invariants_test

// Attacks on where the rules come from and on what lands, run on the real
// sandbox: the agent edits factory.yaml in the working tree (where factory
// cannot stop it) to loosen the rules, asks for a check with no baseline,
// commits through a tracked hook, or races two proposals.

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/factory-dev/factory"
	"github.com/factory-dev/factory/internal/attacktest"
	"github.com/factory-dev/factory/internal/gittest"
	"github.com/factory-dev/factory/invariants"
	"github.com/factory-dev/factory/invariants/rules"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// strictRules protects golden/ and builds the module.
const strictRules = `version: 1
gates:
  build: {run: [go, build, ./...]}
invariants:
  - {id: builds, expr: "build.exit_code == 0"}
  - {id: golden-untouched, protect: ["golden/**", "factory.yaml"]}
`

// looseRules is what the agent would like the rules to be.
const looseRules = `version: 1
sandbox: {network: true, isolation: none}
gates:
  build: {run: ["true"]}
invariants:
  - {id: builds, expr: "build.exit_code == 0"}
`

// attackRepo makes a committed repository with its own git identity.
func attackRepo(t *testing.T, files map[string]string) string {
	t.Helper()
	repo := t.TempDir()
	gittest.Out(t, repo, "init", "-q", "-b", "main")
	gittest.Out(t, repo, "config", "user.name", "factory attack")
	gittest.Out(t, repo, "config", "user.email", "attack@factory.invalid")
	invariants.WriteFilesForTest(t, repo, files)
	gittest.Out(t, repo, "add", "-A")
	gittest.Out(t, repo, "commit", "-q", "-m", "initial")
	return repo
}

// hostState fingerprints the live tree and .git, leaving out what factory
// owns and may write while judging (its object store, refs/factory/*, its
// cache and run log under .git/factory); extra host paths are added.
func hostState(t testing.TB, repo string, extra ...string) attacktest.State {
	t.Helper()
	s := attacktest.Take(t, append([]string{repo}, extra...)...)
	for p := range s {
		rel, err := filepath.Rel(repo, p)
		if err != nil {
			continue
		}
		rel = filepath.ToSlash(rel)
		for _, owned := range []string{".git/objects", ".git/refs/factory", ".git/factory", ".git/logs/refs/factory"} {
			if rel == owned || strings.HasPrefix(rel, owned+"/") {
				delete(s, p)
			}
		}
	}
	return s
}

func requireSame(t testing.TB, before, after attacktest.State) {
	t.Helper()
	if d := before.Diff(after); len(d) > 0 {
		t.Fatalf("the attack changed host state:\n%s", strings.Join(d, "\n"))
	}
}

func goModule(extra map[string]string) map[string]string {
	files := map[string]string{
		"go.mod":          "module example.com/m\n\ngo 1.22\n",
		"count/count.go":  "package count\n\n// Count counts.\nfunc Count(xs []int) int { return len(xs) }\n",
		"app/app.go":      "package app\n\nimport \"example.com/m/count\"\n\n// N uses Count.\nfunc N() int { return count.Count([]int{1, 2}) }\n",
		"golden/want.txt": "the golden output\n",
		"factory.yaml":    strictRules,
	}
	for k, v := range extra {
		files[k] = v
	}
	return files
}

// attack: loosen factory.yaml in the working tree (patch_apply or a plain write), then propose an edit of a protected file -> rejected by golden-untouched, with the note that factory.yaml has uncommitted changes; nothing written
func TestAttackLoosenRulesInTheWorkingTreeThenEditAProtectedFile(t *testing.T) {
	for _, how := range []string{"patch_apply", "plain write"} {
		t.Run(how, func(t *testing.T) {
			repo := attackRepo(t, goModule(nil))
			ws, c, _, _ := openSandbox(t, repo)
			ctx := context.Background()
			loosen := invariants.MakePatchForTest(t, repo, func(d string) {
				invariants.WriteFilesForTest(t, d, map[string]string{"factory.yaml": looseRules})
			})
			if how == "patch_apply" {
				rep, err := ws.ApplyPatch(ctx, factory.PatchRequest{Patch: loosen})
				require.NoError(t, err)
				require.True(t, rep.Applied)
			} else {
				invariants.WriteFilesForTest(t, repo, map[string]string{"factory.yaml": looseRules})
			}
			edit := invariants.MakePatchForTest(t, repo, func(d string) {
				invariants.WriteFilesForTest(t, d, map[string]string{"golden/want.txt": "whatever the code prints now\n"})
			})
			before := hostState(t, repo)
			res, err := c.Propose(ctx, invariants.ProposeRequest{Patch: edit, Commit: true})
			require.NoError(t, err)
			assert.False(t, res.Accepted, res.Reason)
			assert.Contains(t, res.Reason, "golden-untouched")
			invariants.RequireVerdictForTest(t, res.Verdicts, "golden-untouched", factory.VerdictFail, "golden/want.txt")
			assert.Equal(t, rules.UncommittedNote, res.ConfigNote)
			requireSame(t, before, hostState(t, repo))
		})
	}
}

// attack: edit a protected file in the working tree, then invariant_check with no baseline -> not passed: protect is evaluated against HEAD
func TestAttackCheckWithoutABaselineSkipsProtect(t *testing.T) {
	repo := attackRepo(t, goModule(nil))
	_, c, _, _ := openSandbox(t, repo)
	invariants.WriteFilesForTest(t, repo, map[string]string{"golden/want.txt": "rewritten to match\n"})
	before := hostState(t, repo)
	res, err := c.Check(context.Background(), invariants.CheckRequest{})
	require.NoError(t, err)
	assert.False(t, res.Passed)
	invariants.RequireVerdictForTest(t, res.Verdicts, "golden-untouched", factory.VerdictFail, "golden/want.txt")
	for _, v := range res.Verdicts {
		assert.NotEqual(t, factory.VerdictSkipped, v.Status, "%s was skipped", v.ID)
	}
	requireSame(t, before, hostState(t, repo))
}

// attack: a change that also rewrites a tracked core.hooksPath pre-commit hook, proposed with commit: true -> the commit is made with plumbing, no hook runs on the host (no marker), HEAD's tree is the gated tree, the status is clean
func TestAttackCommitThroughATrackedHook(t *testing.T) {
	outside := t.TempDir()
	marker := filepath.Join(outside, "hook-ran")
	hook := "#!/bin/sh\necho pwned > " + marker + "\n"
	repo := attackRepo(t, goModule(map[string]string{".githooks/pre-commit": hook}))
	require.NoError(t, os.Chmod(filepath.Join(repo, ".githooks", "pre-commit"), 0o755))
	gittest.Out(t, repo, "add", "--chmod=+x", ".githooks/pre-commit")
	gittest.Out(t, repo, "commit", "-q", "-m", "hook")
	gittest.Out(t, repo, "config", "core.hooksPath", ".githooks")
	for _, h := range []string{"pre-commit", "post-commit", "reference-transaction", "post-index-change"} {
		require.NoError(t, os.WriteFile(filepath.Join(repo, ".git", "hooks", h), []byte(hook), 0o755))
	}
	ws, c, _, _ := openSandbox(t, repo)
	patch := invariants.MakePatchForTest(t, repo, func(d string) {
		invariants.WriteFilesForTest(t, d, map[string]string{
			".githooks/pre-commit": "#!/bin/sh\necho pwned again > " + marker + "\n",
			"count/more.go":        "package count\n\n// Twice doubles.\nfunc Twice(n int) int { return 2 * n }\n",
		})
	})
	guard := []string{marker, filepath.Join(repo, ".git", "hooks"), filepath.Join(repo, ".git", "config")}
	before := attacktest.Take(t, guard...)
	head := gittest.Out(t, repo, "rev-parse", "HEAD")

	res, err := c.Propose(context.Background(), invariants.ProposeRequest{Patch: patch, Commit: true, Message: "add Twice"})
	require.NoError(t, err)
	require.True(t, res.Accepted, res.Reason)
	require.Empty(t, res.CommitError)
	require.NotEmpty(t, res.Commit)
	attacktest.Unchanged(t, before, guard...)
	assert.NoFileExists(t, marker)
	assert.Equal(t, res.Commit, gittest.Out(t, repo, "rev-parse", "HEAD"))
	assert.Equal(t, head, gittest.Out(t, repo, "rev-parse", "HEAD^"))
	gated, err := ws.Resolve(context.Background(), res.Result)
	require.NoError(t, err)
	assert.Equal(t, gated.Tree, gittest.Out(t, repo, "rev-parse", "HEAD^{tree}"), "the commit is the gated tree")
	assert.Equal(t, "", gittest.Out(t, repo, "-c", "core.hooksPath=/dev/null", "status", "--porcelain"))
	assert.NoFileExists(t, marker, "git status ran no hook either")
}

// attack: two proposals at once, one renaming Count to CountOf with its callers, the other adding a caller of Count -> at most one lands, the other is rejected (judged again on the moved tree) naming builds; the live tree still builds
func TestAttackRacingProposalsBreakTheBuild(t *testing.T) {
	for _, shared := range []bool{true, false} {
		name := map[bool]string{true: "one controller", false: "two processes"}[shared]
		t.Run(name, func(t *testing.T) {
			repo := attackRepo(t, goModule(nil))
			_, c1, _, _ := openSandbox(t, repo)
			c2 := c1
			if !shared {
				_, c2, _, _ = openSandbox(t, repo) // its own workspace: only the file lock is shared
			}
			rename := invariants.MakePatchForTest(t, repo, func(d string) {
				invariants.ReplaceInForTest(t, d, "count/count.go", "func Count(", "func CountOf(")
				invariants.ReplaceInForTest(t, d, "app/app.go", "count.Count(", "count.CountOf(")
			})
			caller := invariants.MakePatchForTest(t, repo, func(d string) {
				invariants.WriteFilesForTest(t, d, map[string]string{"app/more.go": "package app\n\nimport \"example.com/m/count\"\n\n// M uses Count too.\nfunc M() int { return count.Count(nil) }\n"})
			})
			refs := []string{filepath.Join(repo, ".git", "HEAD"), filepath.Join(repo, ".git", "refs", "heads"), filepath.Join(repo, ".git", "hooks")}
			before := attacktest.Take(t, refs...)
			var wg sync.WaitGroup
			results := make([]invariants.ProposeResult, 2)
			errs := make([]error, 2)
			for i, p := range []string{rename, caller} {
				ctrl := []*invariants.Controller{c1, c2}[i]
				wg.Add(1)
				go func() {
					defer wg.Done()
					results[i], errs[i] = ctrl.Propose(context.Background(), invariants.ProposeRequest{Patch: p})
				}()
			}
			wg.Wait()
			require.NoError(t, errs[0])
			require.NoError(t, errs[1])
			accepted := 0
			for _, r := range results {
				t.Logf("accepted=%v regated=%v: %s", r.Accepted, r.Regated, r.Reason)
				if r.Accepted {
					accepted++
					continue
				}
				assert.Contains(t, r.Reason, "builds", "the rejection names the invariant that failed")
			}
			assert.Equal(t, 1, accepted, "one lands: each builds on its own base")
			build := exec.Command("go", "build", "./...")
			build.Dir = repo
			out, err := build.CombinedOutput()
			require.NoError(t, err, "the live tree no longer builds: %s", out)
			attacktest.Unchanged(t, before, refs...)
		})
	}
}

// attack: loosen factory.yaml (or edit a protected file) in the working tree, then propose a harmless change with commit: true so the commit carries the loosening into HEAD -> rejected naming the protect invariant and the file; no commit, nothing written
func TestAttackCommitCarriesAWorkingTreeLoosening(t *testing.T) {
	for file, content := range map[string]string{"factory.yaml": looseRules, "golden/want.txt": "rewritten\n"} {
		t.Run(file, func(t *testing.T) {
			repo := attackRepo(t, goModule(nil))
			_, c, _, _ := openSandbox(t, repo)
			invariants.WriteFilesForTest(t, repo, map[string]string{file: content})
			harmless := invariants.MakePatchForTest(t, repo, func(d string) {
				invariants.WriteFilesForTest(t, d, map[string]string{"count/doc.go": "// Package count counts.\npackage count\n"})
			})
			before := hostState(t, repo)
			res, err := c.Propose(context.Background(), invariants.ProposeRequest{Patch: harmless, Commit: true})
			require.NoError(t, err)
			assert.False(t, res.Accepted)
			assert.Empty(t, res.Commit)
			assert.Contains(t, res.Reason, "golden-untouched")
			assert.Contains(t, res.Reason, file)
			requireSame(t, before, hostState(t, repo))
		})
	}
}
