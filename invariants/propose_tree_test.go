package invariants_test

// change_propose without a patch: the working tree, edited with any tool,
// judged against a base, on the real sandbox.

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/factory-dev/factory"
	"github.com/factory-dev/factory/internal/gittest"
	"github.com/factory-dev/factory/invariants"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// treeRules: no new failure (TestOld already fails on HEAD), golden/
// protected.
const treeRules = `version: 1
suites:
  unit: {run: [go, test, -json, ./...], format: go-json, timeout: 5m}
gates:
  tests: {suite: unit}
invariants:
  - {id: no-new-failures, expr: "len(tests.new_failures) == 0 && tests.build_errors <= baseline.tests.build_errors"}
  - {id: golden-untouched, protect: ["golden/**"]}
`

const calcGo = "package calc\n\n// Add adds.\nfunc Add(a, b int) int { return a + b }\n"

// treeRepo is a module whose TestOld already fails on HEAD, with hooks
// that would leave a mark outside the repository if git ever ran them.
func treeRepo(t *testing.T) (repo, mark string) {
	t.Helper()
	repo = attackRepo(t, map[string]string{
		"go.mod":       "module example.com/tt\n\ngo 1.22\n",
		"factory.yaml": treeRules,
		"calc/calc.go": calcGo,
		"calc/calc_test.go": "package calc\n\nimport \"testing\"\n\nfunc TestAdd(t *testing.T) {\n\tif Add(2, 2) != 4 {\n\t\tt.Fatal(\"Add(2, 2) != 4\")\n\t}\n}\n\n" +
			"func TestOld(t *testing.T) { t.Fatal(\"broken before this change\") }\n",
		"golden/want.txt": "the golden output\n",
	})
	mark = filepath.Join(t.TempDir(), "hook-ran")
	for _, h := range []string{"pre-commit", "commit-msg", "post-commit", "reference-transaction", "post-index-change"} {
		require.NoError(t, os.WriteFile(filepath.Join(repo, ".git", "hooks", h), []byte("#!/bin/sh\necho "+h+" >> "+mark+"\n"), 0o755))
	}
	return repo, mark
}

func TestSandboxProposeTreeRejectsThenCommits(t *testing.T) {
	repo, mark := treeRepo(t)
	ws, c, _, _ := openSandbox(t, repo)
	ctx := context.Background()

	invariants.WriteFilesForTest(t, repo, map[string]string{"calc/calc.go": strings.Replace(calcGo, "a + b", "a - b", 1)})
	before := hostState(t, repo)
	res, err := c.Propose(ctx, invariants.ProposeRequest{})
	require.NoError(t, err)
	assert.False(t, res.Accepted, res.Reason)
	assert.Contains(t, res.Reason, "no-new-failures")
	assert.Contains(t, res.Reason, "working tree is left as it is")
	invariants.RequireVerdictForTest(t, res.Verdicts, "no-new-failures", factory.VerdictFail,
		`tests.new_failures = [example.com/tt/calc.TestAdd]`, "already failing on the base: example.com/tt/calc.TestOld")
	requireSame(t, before, hostState(t, repo))

	// the fix, and a new untracked file: both are the gated tree
	invariants.WriteFilesForTest(t, repo, map[string]string{"calc/calc.go": calcGo, "calc/sub.go": "package calc\n\n// Sub subtracts.\nfunc Sub(a, b int) int { return a - b }\n"})
	res, err = c.Propose(ctx, invariants.ProposeRequest{Commit: true, Message: "calc: Sub"})
	require.NoError(t, err)
	require.True(t, res.Accepted, "%s %+v", res.Reason, res.Verdicts)
	require.Empty(t, res.CommitError)
	require.NotEmpty(t, res.Commit)
	invariants.RequireVerdictForTest(t, res.Verdicts, "no-new-failures", factory.VerdictPass, "already failing on the base: example.com/tt/calc.TestOld")
	ran, _ := os.ReadFile(mark) // before the test's own git status, which runs post-index-change
	assert.Empty(t, string(ran), "no repository hook ran")
	gated, err := ws.Resolve(ctx, res.Result)
	require.NoError(t, err)
	assert.Equal(t, gated.Tree, gittest.Out(t, repo, "rev-parse", "HEAD^{tree}"), "HEAD's tree is the gated tree")
	assert.Equal(t, res.Commit, gittest.Out(t, repo, "rev-parse", "HEAD"))
	assert.Empty(t, gittest.Out(t, repo, "status", "--porcelain"), "index and working tree match the commit")
	assert.Equal(t, "calc/sub.go", gittest.Out(t, repo, "ls-files", "calc/sub.go"), "the untracked file is committed")
	msg := gittest.Out(t, repo, "log", "-1", "--format=%B")
	assert.Contains(t, msg, "calc: Sub")
	assert.Contains(t, msg, "Factory-Verdicts: ")
	assert.Contains(t, msg, "no-new-failures=pass")
}

// attack: an untracked file that breaks the build, left out of `git add`,
// hoping the gate judges only tracked changes -> it is in the snapshot the
// gate judges: rejected, the working tree and branch unchanged
func TestAttackProposeTreeUntrackedFileBreaksTheBuild(t *testing.T) {
	repo, _ := treeRepo(t)
	_, c, _, _ := openSandbox(t, repo)
	invariants.WriteFilesForTest(t, repo, map[string]string{"calc/broken.go": "package calc\n\nfunc Broken() int { return \"x\" }\n"})
	before := hostState(t, repo)
	res, err := c.Propose(context.Background(), invariants.ProposeRequest{Commit: true})
	require.NoError(t, err)
	assert.False(t, res.Accepted, res.Reason)
	assert.Empty(t, res.Commit)
	invariants.RequireVerdictForTest(t, res.Verdicts, "no-new-failures", factory.VerdictFail, "tests.build_errors = 1", "broken.go")
	requireSame(t, before, hostState(t, repo))
}

// attack: edit a protected file, snapshot, make a harmless edit and pass
// the snapshot as base, so the diff from the base does not show the
// protected edit -> protect is judged against HEAD: rejected; and an
// older base (HEAD's parent) does not blame a protected edit HEAD already
// committed
func TestAttackProposeTreeBaseDodgesProtect(t *testing.T) {
	repo, _ := treeRepo(t)
	ws, c, _, _ := openSandbox(t, repo)
	ctx := context.Background()
	invariants.WriteFilesForTest(t, repo, map[string]string{"golden/want.txt": "loosened\n"})
	snap, err := ws.Snapshot(ctx, "with the protected edit")
	require.NoError(t, err)
	invariants.WriteFilesForTest(t, repo, map[string]string{"calc/doc.go": "// Package calc adds.\npackage calc\n"})
	before := hostState(t, repo)
	for _, commit := range []bool{false, true} {
		res, err := c.Propose(ctx, invariants.ProposeRequest{Base: snap.ID, Commit: commit})
		if commit {
			require.Error(t, err, "commit needs HEAD as the base")
			assert.Equal(t, factory.EINVALID, factory.ErrorCode(err))
			assert.Contains(t, factory.ErrorMessage(err), "drop base to commit")
			continue
		}
		require.NoError(t, err)
		assert.False(t, res.Accepted, res.Reason)
		invariants.RequireVerdictForTest(t, res.Verdicts, "golden-untouched", factory.VerdictFail, "golden/want.txt")
	}
	requireSame(t, before, hostState(t, repo))

	// a person commits a protected edit; a base before it is only for the diff
	gittest.Out(t, repo, "checkout", "-q", "--", "golden/want.txt")
	old := gittest.Out(t, repo, "rev-parse", "HEAD")
	invariants.WriteFilesForTest(t, repo, map[string]string{"golden/want.txt": "reviewed\n"})
	gittest.Out(t, repo, "commit", "-qam", "golden: reviewed", "--no-verify")
	res, err := c.Propose(ctx, invariants.ProposeRequest{Base: old})
	require.NoError(t, err)
	require.True(t, res.Accepted, "%s %+v", res.Reason, res.Verdicts)
	invariants.RequireVerdictForTest(t, res.Verdicts, "golden-untouched", factory.VerdictPass)
}

// attack: the working tree changes between the gated snapshot and the
// commit (a late edit that breaks the build) -> nothing is committed, the
// commit error says the tree changed since it was gated; HEAD, the branch
// and the index are unchanged, the late edit stays in the working tree
func TestAttackProposeTreeEditAfterTheGate(t *testing.T) {
	repo, _ := treeRepo(t)
	_, c, _, hooks := openSandbox(t, repo)
	invariants.WriteFilesForTest(t, repo, map[string]string{"calc/sub.go": "package calc\n\nfunc Sub(a, b int) int { return a - b }\n"})
	var before map[string]string
	hooks["wait to land"] = func() {
		invariants.WriteFilesForTest(t, repo, map[string]string{"calc/late.go": "package calc\n\nfunc Late() int { return \"x\" }\n"})
		before = hostState(t, repo)
	}
	head := gittest.Out(t, repo, "rev-parse", "HEAD")
	res, err := c.Propose(context.Background(), invariants.ProposeRequest{Commit: true})
	require.NoError(t, err)
	require.NotNil(t, before, "the landing phase ran")
	assert.True(t, res.Accepted, "the gated tree passed: %s", res.Reason)
	assert.Empty(t, res.Commit)
	assert.Contains(t, res.CommitError, "the working tree changed after it was gated")
	assert.Contains(t, res.Reason, "nothing was committed")
	assert.Equal(t, head, gittest.Out(t, repo, "rev-parse", "HEAD"))
	requireSame(t, before, hostState(t, repo))
}

func TestSandboxProposeTreeNothingToJudge(t *testing.T) {
	repo, _ := treeRepo(t)
	_, c, _, _ := openSandbox(t, repo)
	res, err := c.Propose(context.Background(), invariants.ProposeRequest{})
	require.NoError(t, err)
	assert.False(t, res.Accepted)
	assert.Contains(t, res.Reason, "does not differ from the base (HEAD): nothing to judge")
	assert.Empty(t, res.Verdicts)
}

// attack: send as a patch a change the working tree already holds (made
// with an editor) -> answered as already applied, pointing at the
// working-tree mode, not as a conflict; nothing written
func TestAttackProposeAlreadyAppliedPatch(t *testing.T) {
	repo, _ := treeRepo(t)
	_, c, _, _ := openSandbox(t, repo)
	edit := func(d string) {
		invariants.ReplaceInForTest(t, d, "calc/calc.go", "// Add adds.", "// Add returns a+b.")
		invariants.WriteFilesForTest(t, d, map[string]string{"calc/sub.go": "package calc\n\nfunc Sub(a, b int) int { return a - b }\n"})
	}
	patch := invariants.MakePatchForTest(t, repo, edit)
	edit(repo)
	before := hostState(t, repo)
	res, err := c.Propose(context.Background(), invariants.ProposeRequest{Patch: patch})
	require.NoError(t, err)
	assert.False(t, res.Accepted)
	assert.True(t, res.AlreadyApplied)
	assert.Equal(t, invariants.AlreadyAppliedReason, res.Reason)
	requireSame(t, before, hostState(t, repo))

	// a patch that truly conflicts is still a conflict
	bad := strings.Replace(patch, "+// Add returns a+b.", "+// Add returns the sum.", 1)
	res, err = c.Propose(context.Background(), invariants.ProposeRequest{Patch: bad})
	require.NoError(t, err)
	assert.False(t, res.AlreadyApplied)
	assert.Contains(t, res.Reason, "the patch does not apply: nothing was written")
	_, err = c.Propose(context.Background(), invariants.ProposeRequest{Patch: patch, Base: "HEAD"})
	assert.Equal(t, factory.EINVALID, factory.ErrorCode(err))
}
