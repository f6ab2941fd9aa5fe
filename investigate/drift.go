package investigate

import (
	"context"
	"fmt"

	"github.com/factory-dev/factory"
	"github.com/factory-dev/factory/invariants"
)

// Checker evaluates every invariant of factory.yaml as committed at HEAD
// on a tree. *invariants.Controller is one.
type Checker interface {
	Check(ctx context.Context, req invariants.CheckRequest) (invariants.CheckResult, error)
}

// Accepted lists the trees the gate accepted, newest first, at most n.
// *sandbox.Workspace is one (AcceptedSnapshots).
type Accepted interface {
	AcceptedSnapshots(ctx context.Context, n int) ([]factory.Snapshot, error)
}

// MaxLast bounds last: each accepted change costs a full check.
const MaxLast = 20

// Drift kinds: how an invariant's verdict moved between two trees.
const (
	DriftBroke = "pass_to_fail" // passed on from, fails (or errors) on to
	DriftFixed = "fail_to_pass"
	DriftNew   = "new"  // judged on to only
	DriftGone  = "gone" // judged on from only
	DriftOther = "changed"
)

// DriftRequest asks for the verdicts that changed between two trees, or
// along the last accepted changes.
type DriftRequest struct {
	From string // snapshot id or revision
	To   string // snapshot id or revision; "" means the live tree
	Last int    // instead of From and To: the last Last accepted changes
}

// Drift is one invariant whose verdict changed.
type Drift struct {
	ID         string   `json:"id"`
	Change     string   `json:"change"` // pass_to_fail, fail_to_pass, new, gone, changed
	FromStatus string   `json:"from_status,omitempty"`
	ToStatus   string   `json:"to_status,omitempty"`
	Message    string   `json:"message"`            // the newer verdict's (from's when gone)
	Evidence   []string `json:"evidence,omitempty"` // idem: the offending imports, tests, lines
	At         string   `json:"at,omitempty"`       // with last: the accepted tree where it flipped
	Before     string   `json:"before,omitempty"`   // with last: the accepted tree before it
}

// DriftResult is the verdicts that changed; Unchanged counts the others.
type DriftResult struct {
	From      string   `json:"from"` // snapshot ids
	To        string   `json:"to"`
	Config    string   `json:"config"` // sha256 of HEAD's factory.yaml, the rules for both
	Walked    []string `json:"walked,omitempty"`
	Changed   []Drift  `json:"changed"`
	Unchanged int      `json:"unchanged"`
}

// InvariantDrift evaluates HEAD's invariants on from and to and returns
// the verdicts that changed. from is judged against itself and to against
// from, so a diff-based invariant (forbid in added lines, protect,
// max_regression) judges the change between them, and one about the state
// of a tree (deny_imports, a suite) judges each tree as it is. The rules
// are always HEAD's: an older tree's own factory.yaml never decides.
func InvariantDrift(ctx context.Context, trees Resolver, chk Checker, acc Accepted, req DriftRequest) (DriftResult, error) {
	if req.Last != 0 {
		if req.From != "" || req.To != "" {
			return DriftResult{}, factory.Errorf(factory.EINVALID, "give either last or from/to, not both")
		}
		return walkAccepted(ctx, chk, acc, req.Last)
	}
	if req.From == "" {
		return DriftResult{}, factory.Errorf(factory.EINVALID, "invariant_drift needs from (a snapshot id, or HEAD, a branch, a tag or a full commit id) or last (how many accepted changes to walk)")
	}
	from, err := resolveTree(ctx, trees, req.From, "invariant_drift from")
	if err != nil {
		return DriftResult{}, err
	}
	to, err := resolveTree(ctx, trees, req.To, "invariant_drift to")
	if err != nil {
		return DriftResult{}, err
	}
	fr, err := chk.Check(ctx, invariants.CheckRequest{Snapshot: from.ID, Baseline: from.ID})
	if err != nil {
		return DriftResult{}, err
	}
	tr, err := chk.Check(ctx, invariants.CheckRequest{Snapshot: to.ID, Baseline: from.ID})
	if err != nil {
		return DriftResult{}, err
	}
	changed, same := diffVerdicts(fr.Verdicts, tr.Verdicts)
	return DriftResult{From: from.ID, To: to.ID, Config: tr.Config, Changed: changed, Unchanged: same}, nil
}

// walkAccepted checks the last n accepted trees, oldest first, each
// against the one before, and returns every flip with the tree where it
// happened.
func walkAccepted(ctx context.Context, chk Checker, acc Accepted, n int) (DriftResult, error) {
	if n < 2 || n > MaxLast {
		return DriftResult{}, factory.Errorf(factory.EINVALID, "last is %d; give 2..%d accepted changes to walk", n, MaxLast)
	}
	if acc == nil {
		return DriftResult{}, factory.Errorf(factory.EINVALID, "this server has no record of accepted changes; give from and to instead")
	}
	snaps, err := acc.AcceptedSnapshots(ctx, n)
	if err != nil {
		return DriftResult{}, err
	}
	if len(snaps) < 2 {
		return DriftResult{}, factory.Errorf(factory.EINVALID, "the gate accepted %d tree(s) so far; last needs two or more: give from and to instead", len(snaps))
	}
	res := DriftResult{Changed: []Drift{}}
	var prev invariants.CheckResult
	var flipped = map[string]bool{}
	for i := len(snaps) - 1; i >= 0; i-- { // oldest first
		s := snaps[i]
		base := s.ID
		if i < len(snaps)-1 {
			base = snaps[i+1].ID
		}
		cur, err := chk.Check(ctx, invariants.CheckRequest{Snapshot: s.ID, Baseline: base})
		if err != nil {
			return DriftResult{}, fmt.Errorf("checking accepted tree %s: %w", s.ID, err)
		}
		res.Walked = append(res.Walked, s.ID)
		if i < len(snaps)-1 {
			ch, _ := diffVerdicts(prev.Verdicts, cur.Verdicts)
			for _, d := range ch {
				d.At, d.Before = s.ID, base
				flipped[d.ID] = true
				res.Changed = append(res.Changed, d)
			}
		}
		prev = cur
		res.Config = cur.Config
	}
	res.From, res.To = res.Walked[0], res.Walked[len(res.Walked)-1]
	res.Unchanged = len(prev.Verdicts) - len(flipped)
	return res, nil
}

// diffVerdicts returns the verdicts whose status differs between from and
// to, in to's order (then those gone), and how many kept their status.
func diffVerdicts(from, to []factory.Verdict) ([]Drift, int) {
	old := map[string]factory.Verdict{}
	for _, v := range from {
		old[v.ID] = v
	}
	out := []Drift{}
	same := 0
	seen := map[string]bool{}
	for _, v := range to {
		seen[v.ID] = true
		o, ok := old[v.ID]
		switch {
		case !ok:
			out = append(out, Drift{ID: v.ID, Change: DriftNew, ToStatus: v.Status, Message: v.Message, Evidence: v.Evidence})
		case o.Status == v.Status:
			same++
		default:
			out = append(out, Drift{ID: v.ID, Change: kind(o.Status, v.Status), FromStatus: o.Status, ToStatus: v.Status, Message: v.Message, Evidence: v.Evidence})
		}
	}
	for _, v := range from {
		if !seen[v.ID] {
			out = append(out, Drift{ID: v.ID, Change: DriftGone, FromStatus: v.Status, Message: v.Message, Evidence: v.Evidence})
		}
	}
	return out, same
}

// kind names a status change; an error counts as failing, as the gate
// counts it.
func kind(from, to string) string {
	failing := func(s string) bool { return s == factory.VerdictFail || s == factory.VerdictError }
	switch {
	case from == factory.VerdictPass && failing(to):
		return DriftBroke
	case failing(from) && to == factory.VerdictPass:
		return DriftFixed
	default:
		return DriftOther
	}
}
