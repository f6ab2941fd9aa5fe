package investigate_test

import (
	"context"
	"strings"
	"testing"

	"github.com/factory-dev/factory"
	"github.com/factory-dev/factory/internal/attacktest"
	"github.com/factory-dev/factory/internal/gittest"
	"github.com/factory-dev/factory/investigate"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const layeringYAML = `version: 1
gates:
  imports: {builtin: go-imports}
invariants:
  - id: layering
    deny_imports: {from: "./ui/...", to: ["./db/..."]}
  - {id: no-todo, forbid: {pattern: "TODO", in: ["**/*.go"], scope: files}}
`

// layeringRepo commits a clean tree (good), then one where ui imports db
// (bad, HEAD).
func layeringRepo(t *testing.T) (repo, good, bad string) {
	repo = newRepo(t)
	good = commit(t, repo, "clean layers", map[string]string{
		"go.mod":       "module ex.com/m\n\ngo 1.22\n",
		"factory.yaml": layeringYAML,
		"db/db.go":     "package db\n\nfunc Get() int { return 1 }\n",
		"ui/ui.go":     "package ui\n\nfunc Show() int { return 2 }\n",
	})
	bad = commit(t, repo, "ui reads the db directly", map[string]string{
		"ui/ui.go": "package ui\n\nimport \"ex.com/m/db\"\n\nfunc Show() int { return db.Get() }\n",
	})
	return repo, good, bad
}

func TestInvariantDriftNamesTheBrokenLayeringRule(t *testing.T) {
	repo, good, bad := layeringRepo(t)
	ws, c := open(t, repo)
	res, err := investigate.InvariantDrift(context.Background(), ws, c, ws, investigate.DriftRequest{From: good, To: bad})
	require.NoError(t, err)
	require.Len(t, res.Changed, 1, "%+v", res)
	d := res.Changed[0]
	assert.Equal(t, "layering", d.ID)
	assert.Equal(t, investigate.DriftBroke, d.Change)
	assert.Equal(t, factory.VerdictPass, d.FromStatus)
	assert.Equal(t, factory.VerdictFail, d.ToStatus)
	assert.Contains(t, strings.Join(d.Evidence, "\n"), "ex.com/m/db", "the offending import is named")
	assert.Equal(t, 2, res.Unchanged, "no-todo and the implicit factory-yaml-protected held on both")

	back, err := investigate.InvariantDrift(context.Background(), ws, c, ws, investigate.DriftRequest{From: bad, To: good})
	require.NoError(t, err)
	require.Len(t, back.Changed, 1)
	assert.Equal(t, investigate.DriftFixed, back.Changed[0].Change)
}

func TestInvariantDriftBadInput(t *testing.T) {
	repo, good, _ := layeringRepo(t)
	ws, c := open(t, repo)
	ctx := context.Background()
	for name, req := range map[string]investigate.DriftRequest{
		"nothing":       {},
		"both":          {From: good, Last: 3},
		"last too big":  {Last: 500},
		"last too few":  {Last: 1},
		"bad revision":  {From: "HEAD~1..HEAD"},
		"unknown snap":  {From: "s-000000"},
		"unknown ref":   {From: "no-such-branch"},
		"option inject": {From: "--output=/tmp/x"},
	} {
		_, err := investigate.InvariantDrift(ctx, ws, c, ws, req)
		require.Error(t, err, name)
		code := factory.ErrorCode(err)
		assert.Contains(t, []string{factory.EINVALID, factory.ENOTFOUND}, code, "%s: %v", name, err)
	}
}

// attack: commit a factory.yaml without the layering rule in the tree being judged, so the broken import goes unseen -> HEAD's rules judge both trees and the break is still reported; the live tree and .git are untouched
func TestAttackDriftUnderTheTreesOwnRules(t *testing.T) {
	repo, good, _ := layeringRepo(t)
	// the live tree drops the rule and keeps the bad import
	write(t, repo, map[string]string{"factory.yaml": "version: 1\ninvariants: []\n"})
	ws, c := open(t, repo)
	before := attacktest.Take(t, hostState(repo)...)
	res, err := investigate.InvariantDrift(context.Background(), ws, c, ws, investigate.DriftRequest{From: good})
	require.NoError(t, err)
	byID := map[string]investigate.Drift{}
	for _, d := range res.Changed {
		byID[d.ID] = d
	}
	require.Contains(t, byID, "layering", "%+v", res)
	assert.Equal(t, investigate.DriftBroke, byID["layering"].Change)
	assert.Contains(t, strings.Join(byID["layering"].Evidence, "\n"), "ex.com/m/db")
	attacktest.Unchanged(t, before, hostState(repo)...)
}

func TestInvariantDriftAlongAcceptedChanges(t *testing.T) {
	repo, _, _ := layeringRepo(t)
	// back to clean layers, then two accepted changes: one harmless, one
	// that breaks the layering
	write(t, repo, map[string]string{"ui/ui.go": "package ui\n\nfunc Show() int { return 2 }\n"})
	gittest.Out(t, repo, "commit", "-qam", "clean again")
	ws, c := open(t, repo)
	ctx := context.Background()
	accept := func(body string) string {
		write(t, repo, map[string]string{"ui/ui.go": body})
		s, err := ws.Snapshot(ctx, "accepted")
		require.NoError(t, err)
		require.NoError(t, ws.MarkAccepted(ctx, s.ID))
		return s.ID
	}
	accept("package ui\n\nfunc Show() int { return 3 }\n")
	accept("package ui\n\nfunc Show() int { return 4 }\n")
	broke := accept("package ui\n\nimport \"ex.com/m/db\"\n\nfunc Show() int { return db.Get() }\n")
	res, err := investigate.InvariantDrift(ctx, ws, c, ws, investigate.DriftRequest{Last: 3})
	require.NoError(t, err)
	require.Len(t, res.Walked, 3)
	require.Len(t, res.Changed, 1, "%+v", res)
	assert.Equal(t, "layering", res.Changed[0].ID)
	assert.Equal(t, broke, res.Changed[0].At, "the change where it flipped")
}
