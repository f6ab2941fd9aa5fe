package invariants

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/factory-dev/factory"
	"github.com/factory-dev/factory/invariants/gates"
	"github.com/factory-dev/factory/invariants/rules"
)

// ProposeRequest is a change offered to the gate: a patch, or without one
// the working tree as it is.
type ProposeRequest struct {
	Patch string // unified diff; empty means judge the working tree (see proposeTree)
	Fuzz  int    // as factory.PatchRequest.Fuzz
	// Base is what the working tree's change is judged against, without a
	// patch: a snapshot id or a revision; empty means HEAD. It sets the
	// diff (diff.*, added-line patterns, the census's deleted tests) and
	// the baseline (baseline.*, new failures); protect is always judged
	// against HEAD, the tree the change would land on. A patch is always
	// judged against the live tree, so Base with a patch is refused.
	Base string
	// Commit, when true, commits the accepted change on the current branch:
	// the commit's tree is exactly the gated tree (the live tree at the
	// base, uncommitted edits included, plus the change), built with git
	// plumbing so no hook runs, with Message and trailers Factory-Run and
	// Factory-Verdicts. Off by default.
	Commit  bool
	Message string // commit message; empty means "factory: accepted change"
}

// ProposeResult is the controller's decision.
type ProposeResult struct {
	Accepted bool   `json:"accepted"`
	Reason   string `json:"reason"`           // one line: why
	Base     string `json:"base"`             // snapshot of the live tree the change was judged against
	Result   string `json:"result,omitempty"` // snapshot of the proposed tree (the tree that landed, when accepted)
	Live     string `json:"live,omitempty"`   // snapshot of the live tree after promotion
	// Regated says the live tree moved while the gates ran (another change
	// landed, or an edit), so the change was judged again on the moved
	// tree before landing; Base and Verdicts are then that judgement's.
	Regated bool `json:"regated,omitempty"`
	// ConfigNote is UncommittedNote when the working tree's factory.yaml
	// differs from the committed one whose rules judged the change.
	ConfigNote string              `json:"config_note,omitempty"`
	Verdicts   []factory.Verdict   `json:"verdicts"`
	Patch      factory.PatchReport `json:"patch,omitzero"`    // the patch mode's report
	Written    []string            `json:"written,omitempty"` // live files created or overwritten
	Deleted    []string            `json:"deleted,omitempty"` // live files removed
	Conflict   string              `json:"conflict,omitempty"`
	// AlreadyApplied says the patch did not apply because the working tree
	// already holds it.
	AlreadyApplied bool   `json:"already_applied,omitempty"`
	Commit         string `json:"commit,omitempty"`       // the commit made, when asked
	CommitError    string `json:"commit_error,omitempty"` // why the asked-for commit was not made
}

// Propose is the change controller: snapshot the live tree (the base),
// materialise it in an isolated copy, apply the patch there, snapshot the
// result, run every gate on it (and the gates the invariants compare with,
// on the base, cached by tree), and evaluate every invariant with the rules
// of factory.yaml as committed (ConfigRev, HEAD by default; never the
// working tree's copy, which the agent can edit). Only when every verdict
// passes does the change land, one change at a time (Workspace.LockLanding):
// if the live tree moved while the gates ran, the change is applied to the
// moved tree and judged again there before it lands, so what lands is what
// was gated; it is then promoted into the live tree and the live tree
// snapshotted; otherwise the live tree is left untouched.
//
// Invariants that need no command (protect, forbid over added lines, exprs
// over diff.*) are decided first; then the gates run one at a time in
// factory.yaml's order (benchmarks last) and each invariant is decided as
// soon as its facts are in. At the first failure the remaining gates are not
// run and the undecided invariants are reported as skipped, naming it.
//
// A rejection (patch does not apply, a verdict fails, the merge with live
// edits conflicts) is a result with Accepted false and a nil error. Errors:
// ENOTFOUND when factory.yaml is not committed, EINVALID when it is
// malformed or the patch cannot be parsed, ETIMEOUT on cancellation,
// EINTERNAL for faults.
func (c *Controller) Propose(ctx context.Context, req ProposeRequest) (ProposeResult, error) {
	res, err := c.propose(ctx, req)
	if res.Verdicts == nil {
		res.Verdicts = []factory.Verdict{}
	}
	return res, factory.Wrap("propose change", err)
}

func (c *Controller) propose(ctx context.Context, req ProposeRequest) (ProposeResult, error) {
	var res ProposeResult
	if strings.TrimSpace(req.Patch) == "" {
		return c.proposeTree(ctx, req)
	}
	if req.Base != "" {
		return res, factory.Errorf(factory.EINVALID, "base is for gating the working tree as it is; a patch is always judged on the live tree. Drop base, or drop the patch")
	}
	cfg, note, err := c.rules(ctx)
	if err != nil {
		return res, err
	}
	res.ConfigNote = note
	p := c.plan(cfg)

	sctx, end := begin(c.cfg.Steps, ctx, "snapshot")
	base, err := c.cfg.Workspace.Snapshot(sctx, "propose base")
	end(err)
	if err != nil {
		return res, err
	}
	res.Base = base.ID
	j, err := c.judge(ctx, p, base, req, "")
	j.fill(&res)
	if err != nil || j.reason != "" {
		return res, err
	}
	return res, c.land(ctx, p, req, base, j, &res)
}

// judgement is what the gates said about a patch on one base.
type judgement struct {
	result   factory.Snapshot
	patch    factory.PatchReport
	verdicts []factory.Verdict
	reason   string // why it was rejected; "" when every verdict passed
	applied  bool   // the patch did not apply because base already holds it
}

func (j judgement) fill(res *ProposeResult) {
	res.Result, res.Patch, res.Verdicts, res.Reason = j.result.ID, j.patch, j.verdicts, j.reason
	res.AlreadyApplied = j.applied
}

// judge applies the patch to an isolated copy of base and runs the gates
// on the result. prefix names the phases of a second judgement.
func (c *Controller) judge(ctx context.Context, p *plan, base factory.Snapshot, req ProposeRequest, prefix string) (judgement, error) {
	ws := c.cfg.Workspace
	var j judgement
	ictx, end := begin(c.cfg.Steps, ctx, prefix+"isolate")
	cp, err := ws.Isolate(ictx, base.ID)
	end(err)
	if err != nil {
		return j, err
	}
	dir := cp.Dir()
	defer func() {
		_, end := begin(c.cfg.Steps, ctx, prefix+"release")
		err := cp.Close()
		end(err)
		if err != nil {
			c.log.Warn("release isolated copy", "dir", dir, "err", err)
		}
	}()

	actx, end := begin(c.cfg.Steps, ctx, prefix+"apply")
	rep, err := cp.Apply(actx, p.cfg.Patch.Apply(factory.PatchRequest{Patch: req.Patch, Fuzz: req.Fuzz}))
	end(err)
	j.patch = rep
	code := factory.ErrorCode(err)
	if err != nil && code != factory.EINVALID && code != factory.ECONFLICT {
		return j, err
	}
	if err != nil || !rep.Applied {
		if AppliedIn(ctx, cp.Apply, req.Patch) {
			j.applied = true
			j.reason = AlreadyAppliedReason
			return j, nil
		}
		j.reason = fmt.Sprintf("the patch does not apply (%d conflicting hunk(s)); nothing was run or written", len(rep.Conflicts))
		if err != nil {
			j.reason = "the patch does not apply: " + strings.TrimPrefix(factory.ErrorMessage(err), "patch does not apply, ")
		}
		return j, nil
	}

	sctx, end := begin(c.cfg.Steps, ctx, prefix+"snapshot result")
	result, err := cp.Snapshot(sctx, "propose result")
	end(err)
	if err != nil {
		return j, err
	}
	j.result = result
	if result.Tree == base.Tree {
		j.reason = "the patch changes nothing"
		return j, nil
	}
	vs, failed, err := c.gateChange(ctx, p, base, result, dir, nil)
	j.verdicts = vs
	if err == nil && len(failed) > 0 {
		j.reason = "rejected: " + strings.Join(failed, ", ") + " failed; the live tree is unchanged"
	}
	return j, err
}

// gateChange decides every invariant on the change base->result (an
// isolated copy of result in dir) and returns the verdicts and the ids of
// those that failed or errored. protect, when not nil, is the diff the
// protect invariants judge instead of base->result (HEAD->result, for a
// working tree judged against another base).
func (c *Controller) gateChange(ctx context.Context, p *plan, base, result factory.Snapshot, dir string, protect *gates.DiffFacts) ([]factory.Verdict, []string, error) {
	diff, err := c.diffFacts(ctx, base.ID, result.ID)
	if err != nil {
		return nil, nil, err
	}
	if protect == nil {
		protect = diff
	}

	// Phase 1: invariants decidable from the diff alone.
	var cheap []rules.Gate
	for _, g := range p.gates {
		if !needsTree([]rules.Gate{g}) {
			cheap = append(cheap, g)
		}
	}
	facts, err := c.gatesIn(ctx, p, result, dir, cheap, diff, false, "")
	if err != nil {
		return nil, nil, err
	}
	decided := map[string]factory.Verdict{}
	var failed []string
	for _, inv := range p.invs {
		if !inv.static {
			continue
		}
		in := evalInput{facts: facts, diff: diff}
		if inv.Kind == rules.InvProtect {
			in.diff = protect
		}
		v := p.evaluate(inv, in)
		decided[inv.ID] = v
		if v.Failing() {
			failed = append(failed, inv.ID)
		}
	}
	if len(failed) == 0 {
		if failed, err = c.gateTrees(ctx, p, base, result, dir, diff, facts, decided); err != nil {
			return nil, nil, err
		}
	}
	_, end := begin(c.cfg.Steps, ctx, "evaluate")
	why := "not run: " + strings.Join(failed, ", ") + " failed first"
	vs := make([]factory.Verdict, 0, len(p.invs))
	for _, inv := range p.invs {
		v, ok := decided[inv.ID]
		if !ok {
			v = factory.Verdict{ID: inv.ID, Status: factory.VerdictSkipped, Message: why}
		}
		vs = append(vs, v)
	}
	end(nil)
	return vs, failed, nil
}

// gateTrees is phase 2: the base's compared facts (cached by tree), then
// the result's gates one at a time, benchmarks last; as soon as an
// invariant can be decided and fails, the remaining gates are not run.
// Verdicts go into decided; it returns the ids that failed.
func (c *Controller) gateTrees(ctx context.Context, p *plan, base, result factory.Snapshot, dir string, diff *gates.DiffFacts, facts gates.TreeFacts, decided map[string]factory.Verdict) ([]string, error) {
	baseFacts, err := c.gatesOn(ctx, p, base, unpaired(p.gatesNamed(p.baseGates)), nil, false, "baseline ")
	if err != nil {
		return nil, err
	}
	in := evalInput{facts: facts, base: baseFacts, diff: diff}
	decide := func() []string {
		var failed []string
		for _, inv := range p.invs {
			if _, ok := decided[inv.ID]; ok || !ready(inv, facts, baseFacts) {
				continue
			}
			v := p.evaluate(inv, in)
			decided[inv.ID] = v
			if v.Failing() {
				failed = append(failed, inv.ID)
			}
		}
		return failed
	}
	for _, g := range unpaired(p.gates) {
		if !needsTree([]rules.Gate{g}) {
			continue
		}
		more, err := c.gatesIn(ctx, p, result, dir, []rules.Gate{g}, diff, false, "")
		if err != nil {
			return nil, err
		}
		facts[g.Name] = more[g.Name]
		applyBaseline(p, facts, baseFacts)
		if failed := decide(); len(failed) > 0 {
			return failed, nil
		}
	}
	if err := c.pairedBenches(ctx, p, base, result, dir, diff, facts, baseFacts, false); err != nil {
		return nil, err
	}
	return decide(), nil
}

// maxRegates bounds how often a change is judged again because the live
// tree keeps moving under it.
const maxRegates = 3

// land lands an accepted change, one at a time: under the landing lock, the
// live tree is snapshotted; when it is not the base the change was judged
// on, the change is judged again on it (and refused if it no longer
// passes); then the judged tree is promoted and, when asked, committed
// exactly.
func (c *Controller) land(ctx context.Context, p *plan, req ProposeRequest, base factory.Snapshot, j judgement, res *ProposeResult) error {
	ws := c.cfg.Workspace
	unlock, err := c.lockLanding(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	for n := 0; ; n++ {
		sctx, end := begin(c.cfg.Steps, ctx, "snapshot landing")
		live, err := ws.Snapshot(sctx, "propose landing")
		end(err)
		if err != nil {
			return err
		}
		if live.Tree == base.Tree {
			break
		}
		if n == maxRegates {
			res.Reason = fmt.Sprintf("the live tree kept changing while the change was judged (%d times); nothing was written. Propose again when it is still", n)
			return nil
		}
		// The live tree moved while the gates ran: what would land is the
		// change on the moved tree, which nobody judged yet.
		base = live
		if j, err = c.judge(ctx, p, base, req, "regate "); err != nil {
			return err
		}
		j.fill(res)
		res.Base, res.Regated = base.ID, true
		if j.reason != "" {
			res.Reason = "the live tree changed while the gates ran (another change landed, or an edit), so the change was judged again on it: " + j.reason
			return nil
		}
	}
	if req.Commit {
		failed, err := c.protectedSinceHead(ctx, p, j.result)
		if err != nil {
			return err
		}
		if len(failed) > 0 {
			res.Accepted = false
			res.Reason = "rejected: the commit would carry edits of protected files made outside the gate since HEAD (" + strings.Join(failed, "; ") + "); nothing was written. Revert them, or propose without commit"
			return nil
		}
	}
	return c.promote(ctx, req, base, j, res)
}

// protectedSinceHead judges the protect invariants on HEAD -> result: a
// commit carries the whole gated tree, so edits of protected files made in
// the working tree before the proposal (by patch_apply or an editor) would
// land in history without ever passing protect. It returns one line per
// failing invariant.
func (c *Controller) protectedSinceHead(ctx context.Context, p *plan, result factory.Snapshot) ([]string, error) {
	sctx, end := begin(c.cfg.Steps, ctx, "snapshot HEAD")
	head, err := c.cfg.Workspace.SnapshotRevision(sctx, "HEAD", "propose commit parent")
	end(err)
	if factory.ErrorCode(err) == factory.ENOTFOUND {
		return nil, nil // no commit yet: nothing is protected in history
	}
	if err != nil {
		return nil, err
	}
	diff, err := c.diffFacts(ctx, head.ID, result.ID)
	if err != nil {
		return nil, err
	}
	var failed []string
	for _, inv := range p.invs {
		if inv.Kind != rules.InvProtect {
			continue
		}
		if v := p.evaluate(inv, evalInput{diff: diff}); v.Status != factory.VerdictPass {
			failed = append(failed, inv.ID+": "+strings.Join(v.Evidence, ", "))
		}
	}
	return failed, nil
}

// promote writes the judged change into the live tree and commits it when
// asked. The caller holds the landing lock.
func (c *Controller) promote(ctx context.Context, req ProposeRequest, base factory.Snapshot, j judgement, res *ProposeResult) error {
	ws := c.cfg.Workspace
	pctx, end := begin(c.cfg.Steps, ctx, "promote")
	rr, err := ws.Promote(pctx, base.ID, j.result.ID)
	end(err)
	if err != nil {
		if factory.ErrorCode(err) == factory.ECONFLICT {
			res.Conflict = factory.ErrorMessage(err)
			res.Reason = "every gate passed, but the live tree changed since the base in a way that conflicts with the change; nothing was written. Propose again on the current tree"
			return nil
		}
		return err
	}
	res.Written, res.Deleted = rr.Written, rr.Deleted
	// The judged tree (also the committed one) is what the commit hooks
	// let through; the live snapshot below may hold edits made since.
	if err := ws.MarkAccepted(ctx, j.result.ID); err != nil {
		c.log.Warn("record the accepted tree for the commit hooks", "snapshot", j.result.ID, "err", err)
	}

	sctx, end := begin(c.cfg.Steps, ctx, "snapshot live")
	live, err := ws.Snapshot(sctx, "propose accepted")
	end(err)
	if err != nil {
		return err
	}
	res.Accepted, res.Live = true, live.ID
	res.Reason = fmt.Sprintf("accepted: %d invariant(s) passed; %d file(s) written, %d deleted", len(res.Verdicts), len(rr.Written), len(rr.Deleted))
	if req.Commit {
		cctx, end := begin(c.cfg.Steps, ctx, "commit")
		hash, err := ws.Commit(cctx, j.result.Tree, commitMessage(ctx, req.Message, res.Verdicts))
		end(err)
		if err != nil {
			res.CommitError = factory.ErrorMessage(err)
		}
		res.Commit = hash
	}
	return nil
}

// lockLanding takes the workspace's landing lock as the phase "wait to
// land".
func (c *Controller) lockLanding(ctx context.Context) (unlock func(), err error) {
	lctx, end := begin(c.cfg.Steps, ctx, "wait to land")
	unlock, err = c.cfg.Workspace.LockLanding(lctx)
	end(err)
	return unlock, err
}

// ready reports whether every fact an invariant reads is in.
func ready(inv *compiled, facts, base gates.TreeFacts) bool {
	for _, r := range inv.refs {
		if _, ok := facts[r]; !ok && r != rules.GateDiff {
			return false
		}
	}
	for _, r := range inv.baseRefs {
		if _, ok := base[r]; !ok {
			return false
		}
	}
	return true
}

// CommitTrailers returns the trailer lines linking a commit to its run and
// verdicts.
func CommitTrailers(runID string, vs []factory.Verdict) []string {
	var t []string
	if runID != "" {
		t = append(t, "Factory-Run: "+runID)
	}
	parts := make([]string, 0, len(vs))
	for _, v := range vs {
		parts = append(parts, v.ID+"="+v.Status)
	}
	sort.Strings(parts)
	return append(t, "Factory-Verdicts: "+strings.Join(parts, " "))
}

// commitMessage is the message of an accepted change's commit: msg (or a
// default) and the trailers.
func commitMessage(ctx context.Context, msg string, vs []factory.Verdict) string {
	if strings.TrimSpace(msg) == "" {
		msg = "factory: accepted change"
	}
	return strings.TrimRight(msg, "\n") + "\n\n" + strings.Join(CommitTrailers(factory.CallFrom(ctx).RunID, vs), "\n") + "\n"
}
