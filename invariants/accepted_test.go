package invariants

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// attack: an agent proposes a change the gate rejects, hoping its tree is
// recorded as accepted anyway so the commit hooks let it through -> only
// a landed change records its tree, and the tree recorded is the gated
// (and committed) one
func TestAttackOnlyALandedChangeMarksItsTreeAccepted(t *testing.T) {
	repo := newRepo(t, map[string]string{
		"factory.yaml": "version: 1\ngates:\n  ok: {run: [\"sh\", \"-c\", \"! grep -q bad a.txt\"]}\ninvariants:\n  - {id: ok, expr: \"ok.exit_code == 0\"}\n",
		"a.txt":        "one\n",
	})
	ws := newFakeWS(t, repo)
	c := newTestController(t, ws, &execRunner{}, nil, "")
	ctx := context.Background()
	before := treeState(t, repo)
	bad := makePatch(t, repo, func(d string) { replaceIn(t, d, "a.txt", "one", "bad") })
	res, err := c.Propose(ctx, ProposeRequest{Patch: bad})
	require.NoError(t, err)
	require.False(t, res.Accepted, res.Reason)
	assert.Empty(t, ws.accepted, "a rejected change records nothing")
	assert.Equal(t, before, treeState(t, repo))

	good := makePatch(t, repo, func(d string) { replaceIn(t, d, "a.txt", "one", "two") })
	res, err = c.Propose(ctx, ProposeRequest{Patch: good, Commit: true})
	require.NoError(t, err)
	require.True(t, res.Accepted, res.Reason)
	assert.Equal(t, []string{gitIn(t, repo, nil, "rev-parse", "HEAD^{tree}")}, ws.accepted, "the committed tree is the accepted one")
}
