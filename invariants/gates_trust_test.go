package invariants_test

// The gates matrix of examples/gates, continued: the attacks that go
// through the rules and the landing rather than through the tests.

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/factory-dev/factory"
	"github.com/factory-dev/factory/invariants"
	"github.com/factory-dev/factory/invariants/rules"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// attack: on examples/gates, drop contract-untouched from factory.yaml in the working tree (as patch_apply or an editor would), then propose an edit of the protected contract test -> rejected naming contract-untouched, the result says factory.yaml has uncommitted changes, the live tree is unchanged
func TestAttackGatesLoosenedConfigThenProtectedEdit(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the gates of examples/gates in the sandbox")
	}
	repo := invariants.RepoFromForTest(t, "../examples/gates")
	_, c, _, _ := openSandbox(t, repo)
	loose := strings.ReplaceAll(readFile(t, repo, "factory.yaml"), "  - {id: contract-untouched, protect: [\"**/contract_test.go\"]}\n", "")
	require.NotEqual(t, readFile(t, repo, "factory.yaml"), loose, "the rule to drop is in examples/gates/factory.yaml")
	invariants.WriteFilesForTest(t, repo, map[string]string{"factory.yaml": loose})

	p := invariants.MakePatchForTest(t, repo, func(d string) {
		invariants.ReplaceInForTest(t, d, "core/contract_test.go", "t.Errorf(", "t.Logf(")
	})
	before := invariants.TreeStateForTest(t, repo)
	res, err := c.Propose(context.Background(), invariants.ProposeRequest{Patch: p})
	require.NoError(t, err)
	require.False(t, res.Accepted, res.Reason)
	invariants.RequireVerdictForTest(t, res.Verdicts, "contract-untouched", factory.VerdictFail, "core/contract_test.go")
	assert.Equal(t, rules.UncommittedNote, res.ConfigNote)
	assert.Equal(t, before, invariants.TreeStateForTest(t, repo), "nothing written")
}

// attack: on examples/gates, two proposals at once: one renames Counter.Count to CountOf and updates its callers, the other adds a new caller of Count; each passes its gates alone -> exactly one lands, the other is gated again on the moved tree and rejected naming the failing gate; the live tree still builds and vets
func TestAttackGatesRacingProposals(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the gates of examples/gates in the sandbox")
	}
	repo := invariants.RepoFromForTest(t, "../examples/gates")
	_, c, _, _ := openSandbox(t, repo)
	rename := invariants.MakePatchForTest(t, repo, func(d string) {
		invariants.ReplaceInForTest(t, d, "core/core.go", "// Count returns how often word was seen.\nfunc (c *Counter) Count(", "// CountOf returns how often word was seen.\nfunc (c *Counter) CountOf(")
		invariants.ReplaceInForTest(t, d, "ui/ui.go", "c.Count(w)", "c.CountOf(w)")
		invariants.ReplaceInForTest(t, d, "core/core_test.go", "c.Count(\"THE\")", "c.CountOf(\"THE\")")
	})
	caller := invariants.MakePatchForTest(t, repo, func(d string) {
		invariants.WriteFilesForTest(t, d, map[string]string{"ui/top.go": "package ui\n\nimport \"example.com/gates/core\"\n\n// Top returns how often the word \"the\" was seen.\nfunc Top(c *core.Counter) int { return c.Count(\"the\") }\n"})
	})

	var wg sync.WaitGroup
	results := make([]invariants.ProposeResult, 2)
	for i, p := range []string{rename, caller} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := c.Propose(context.Background(), invariants.ProposeRequest{Patch: p})
			assert.NoError(t, err)
			results[i] = res
		}()
	}
	wg.Wait()
	accepted := 0
	for _, r := range results {
		if r.Accepted {
			accepted++
			continue
		}
		// Whether the loser started before the winner landed (and was
		// gated again, Regated) or after depends on timing; either way it
		// must be judged on a tree holding the winner's change.
		t.Logf("rejected (regated %v): %s", r.Regated, r.Reason)
		failing := ""
		for _, v := range r.Verdicts {
			if v.Status == factory.VerdictFail || v.Status == factory.VerdictError {
				failing += v.ID + " "
			}
		}
		assert.NotEmpty(t, failing, "the rejection names a failing verdict: %s", r.Reason)
	}
	require.Equal(t, 1, accepted, "exactly one of the racing proposals lands: %q / %q", results[0].Reason, results[1].Reason)
	for _, args := range [][]string{{"build", "./..."}, {"vet", "./..."}} {
		cmd := exec.Command("go", args...)
		cmd.Dir = repo
		cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off")
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "go %s in the live tree after the race: %s", args[0], out)
	}
	_, err := os.Stat(filepath.Join(repo, "ui", "top.go"))
	topLanded := err == nil
	assert.Equal(t, topLanded, strings.Contains(readFile(t, repo, "core/core.go"), ") Count("), "the live tree holds exactly one of the two changes")
}
