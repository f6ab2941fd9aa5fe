package investigate_test

import (
	"context"
	"testing"

	"github.com/factory-dev/factory"
	"github.com/factory-dev/factory/invariants"
	"github.com/factory-dev/factory/investigate"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// byTree is a Checker whose verdicts are given per snapshot id.
type byTree map[string][]factory.Verdict

func (b byTree) Check(_ context.Context, req invariants.CheckRequest) (invariants.CheckResult, error) {
	return invariants.CheckResult{Snapshot: req.Snapshot, Verdicts: b[req.Snapshot]}, nil
}

func TestInvariantDriftKinds(t *testing.T) {
	repo, good, bad := layeringRepo(t)
	ws, _ := open(t, repo)
	ctx := context.Background()
	from, err := ws.SnapshotRevision(ctx, good, "from")
	require.NoError(t, err)
	to, err := ws.SnapshotRevision(ctx, bad, "to")
	require.NoError(t, err)
	chk := byTree{
		from.ID: {{ID: "kept", Status: factory.VerdictPass}, {ID: "broke", Status: factory.VerdictPass}, {ID: "fixed", Status: factory.VerdictError},
			{ID: "skipped", Status: factory.VerdictPass}, {ID: "gone", Status: factory.VerdictFail, Evidence: []string{"old"}}},
		to.ID: {{ID: "kept", Status: factory.VerdictPass}, {ID: "broke", Status: factory.VerdictFail, Evidence: []string{"why"}}, {ID: "fixed", Status: factory.VerdictPass},
			{ID: "skipped", Status: factory.VerdictSkipped}, {ID: "new", Status: factory.VerdictFail}},
	}
	res, err := investigate.InvariantDrift(ctx, ws, chk, nil, investigate.DriftRequest{From: from.ID, To: to.ID})
	require.NoError(t, err)
	got := map[string]string{}
	for _, d := range res.Changed {
		got[d.ID] = d.Change
	}
	assert.Equal(t, map[string]string{"broke": investigate.DriftBroke, "fixed": investigate.DriftFixed, "skipped": investigate.DriftOther,
		"new": investigate.DriftNew, "gone": investigate.DriftGone}, got)
	assert.Equal(t, 1, res.Unchanged)
	assert.Equal(t, []string{"why"}, res.Changed[0].Evidence)

	_, err = investigate.InvariantDrift(ctx, ws, chk, nil, investigate.DriftRequest{Last: 3})
	require.Error(t, err)
	assert.Equal(t, factory.EINVALID, factory.ErrorCode(err), "no record of accepted changes: %v", err)
}
