package invariants

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/factory-dev/factory"
)

// ProposeRequest is a change offered to the gate.
type ProposeRequest struct {
	Patch string // unified diff
	Fuzz  int    // as factory.PatchRequest.Fuzz
	// Commit, when true, commits the accepted change on the current branch
	// (git add and git commit of the promoted paths only), with Message and
	// trailers Factory-Run and Factory-Verdicts. Off by default.
	Commit  bool
	Message string // commit message; empty means "factory: accepted change"
}

// ProposeResult is the controller's decision.
type ProposeResult struct {
	Accepted    bool                `json:"accepted"`
	Reason      string              `json:"reason"`           // one line: why
	Base        string              `json:"base"`             // snapshot of the live tree the change was judged against
	Result      string              `json:"result,omitempty"` // snapshot of the proposed tree
	Live        string              `json:"live,omitempty"`   // snapshot of the live tree after promotion
	Verdicts    []factory.Verdict   `json:"verdicts"`
	Patch       factory.PatchReport `json:"patch"`
	Written     []string            `json:"written,omitempty"` // live files created or overwritten
	Deleted     []string            `json:"deleted,omitempty"` // live files removed
	Conflict    string              `json:"conflict,omitempty"`
	Commit      string              `json:"commit,omitempty"`       // the commit made, when asked
	CommitError string              `json:"commit_error,omitempty"` // why the asked-for commit was not made
}

// Propose is the change controller: snapshot the live tree (the base),
// materialise it in an isolated copy, apply the patch there, snapshot the
// result, run every gate on it (and the gates the invariants compare with,
// on the base, cached by tree), and evaluate every invariant with the rules
// of the base's factory.yaml. Only when every verdict passes is the change
// promoted into the live tree (merged with live edits made meanwhile) and
// the live tree snapshotted; otherwise the live tree is left untouched.
//
// Invariants that need no command (protect, forbid over added lines, exprs
// over diff.*) are decided first; then the gates run one at a time in
// factory.yaml's order (benchmarks last) and each invariant is decided as
// soon as its facts are in. At the first failure the remaining gates are not
// run and the undecided invariants are reported as skipped, naming it.
//
// A rejection (patch does not apply, a verdict fails, the merge with live
// edits conflicts) is a result with Accepted false and a nil error. Errors:
// ENOTFOUND when the base has no factory.yaml, EINVALID when it is malformed
// or the patch cannot be parsed, ETIMEOUT on cancellation, EINTERNAL for
// faults.
func (c *Controller) Propose(ctx context.Context, req ProposeRequest) (ProposeResult, error) {
	res, err := c.propose(ctx, req)
	if res.Verdicts == nil {
		res.Verdicts = []factory.Verdict{}
	}
	return res, factory.Wrap("propose change", err)
}

func (c *Controller) propose(ctx context.Context, req ProposeRequest) (ProposeResult, error) {
	ws := c.cfg.Workspace
	var res ProposeResult
	if strings.TrimSpace(req.Patch) == "" {
		return res, factory.Errorf(factory.EINVALID, "empty patch; send a unified diff")
	}

	sctx, end := begin(c.cfg.Steps, ctx, "snapshot")
	base, err := ws.Snapshot(sctx, "propose base")
	end(err)
	if err != nil {
		return res, err
	}
	res.Base = base.ID

	ictx, end := begin(c.cfg.Steps, ctx, "isolate")
	dir, release, err := ws.Isolate(ictx, base.ID)
	end(err)
	if err != nil {
		return res, err
	}
	defer func() {
		_, end := begin(c.cfg.Steps, ctx, "release")
		err := release()
		end(err)
		if err != nil {
			c.log.Warn("release isolated copy", "dir", dir, "err", err)
		}
	}()

	// The rules come from the base, before the change touches the copy.
	cfg, err := c.configFromCopy(base, dir)
	if err != nil {
		return res, err
	}
	p := c.plan(cfg)

	actx, end := begin(c.cfg.Steps, ctx, "apply")
	rep, err := ws.ApplyInDir(actx, dir, factory.PatchRequest{Patch: req.Patch, Fuzz: req.Fuzz})
	end(err)
	res.Patch = rep
	if err != nil {
		if code := factory.ErrorCode(err); code == factory.EINVALID || code == factory.ECONFLICT {
			res.Reason = "the patch does not apply: " + factory.ErrorMessage(err)
			return res, nil
		}
		return res, err
	}
	if !rep.Applied {
		res.Reason = fmt.Sprintf("the patch does not apply (%d conflicting hunk(s)); nothing was run or written", len(rep.Conflicts))
		return res, nil
	}

	sctx, end = begin(c.cfg.Steps, ctx, "snapshot result")
	result, err := ws.SnapshotDir(sctx, dir, "propose result")
	end(err)
	if err != nil {
		return res, err
	}
	res.Result = result.ID
	if result.Tree == base.Tree {
		res.Reason = "the patch changes nothing"
		return res, nil
	}

	diff, err := c.diffFacts(ctx, base.ID, result.ID)
	if err != nil {
		return res, err
	}

	// Phase 1: invariants decidable from the diff alone.
	var cheap []Gate
	for _, g := range p.gates {
		if !needsTree([]Gate{g}) {
			cheap = append(cheap, g)
		}
	}
	facts, err := c.gatesIn(ctx, p, result, dir, cheap, diff, false, "")
	if err != nil {
		return res, err
	}
	var failedStatic []string
	staticVerdicts := map[string]factory.Verdict{}
	for _, inv := range p.invs {
		if !inv.static {
			continue
		}
		v := p.evaluate(inv, evalInput{facts: facts, diff: diff})
		staticVerdicts[inv.ID] = v
		if v.Status == factory.VerdictFail || v.Status == factory.VerdictError {
			failedStatic = append(failedStatic, inv.ID)
		}
	}
	if len(failedStatic) > 0 {
		why := "not run: " + strings.Join(failedStatic, ", ") + " failed first"
		for _, inv := range p.invs {
			if v, ok := staticVerdicts[inv.ID]; ok {
				res.Verdicts = append(res.Verdicts, v)
			} else {
				res.Verdicts = append(res.Verdicts, factory.Verdict{ID: inv.ID, Status: factory.VerdictSkipped, Message: why})
			}
		}
		res.Reason = "rejected: " + strings.Join(failedStatic, ", ") + " failed; the live tree is unchanged"
		return res, nil
	}

	// Phase 2: the base's compared facts (cached by tree), then the result's
	// gates one at a time, benchmarks last; as soon as an invariant can be
	// decided and fails, the remaining gates are not run.
	baseFacts, err := c.gatesOn(ctx, p, base, unpaired(p.gatesNamed(p.baseGates)), nil, false, "baseline ")
	if err != nil {
		return res, err
	}
	in := evalInput{facts: facts, base: baseFacts, diff: diff}
	decided := staticVerdicts
	decide := func() []string {
		var failed []string
		for _, inv := range p.invs {
			if _, ok := decided[inv.ID]; ok || !ready(inv, facts, baseFacts) {
				continue
			}
			v := p.evaluate(inv, in)
			decided[inv.ID] = v
			if v.Status == factory.VerdictFail || v.Status == factory.VerdictError {
				failed = append(failed, inv.ID)
			}
		}
		return failed
	}
	var failed []string
	for _, g := range unpaired(p.gates) {
		if !needsTree([]Gate{g}) {
			continue
		}
		more, err := c.gatesIn(ctx, p, result, dir, []Gate{g}, diff, false, "")
		if err != nil {
			return res, err
		}
		facts[g.Name] = more[g.Name]
		applyBaseline(p, facts, baseFacts)
		if failed = decide(); len(failed) > 0 {
			break
		}
	}
	if len(failed) == 0 {
		if err := c.pairedBenches(ctx, p, base, result, dir, facts, baseFacts, false); err != nil {
			return res, err
		}
		failed = decide()
	}
	_, end = begin(c.cfg.Steps, ctx, "evaluate")
	why := "not run: " + strings.Join(failed, ", ") + " failed first"
	for _, inv := range p.invs {
		v, ok := decided[inv.ID]
		if !ok {
			v = factory.Verdict{ID: inv.ID, Status: factory.VerdictSkipped, Message: why}
		}
		res.Verdicts = append(res.Verdicts, v)
	}
	end(nil)
	if len(failed) > 0 {
		res.Reason = "rejected: " + strings.Join(failed, ", ") + " failed; the live tree is unchanged"
		return res, nil
	}

	pctx, end := begin(c.cfg.Steps, ctx, "promote")
	rr, err := ws.Promote(pctx, base.ID, result.ID)
	end(err)
	if err != nil {
		if factory.ErrorCode(err) == factory.ECONFLICT {
			res.Conflict = factory.ErrorMessage(err)
			res.Reason = "every gate passed, but the live tree changed since the base in a way that conflicts with the change; nothing was written. Propose again on the current tree"
			return res, nil
		}
		return res, err
	}
	res.Written, res.Deleted = rr.Written, rr.Deleted

	sctx, end = begin(c.cfg.Steps, ctx, "snapshot live")
	live, err := ws.Snapshot(sctx, "propose accepted")
	end(err)
	if err != nil {
		return res, err
	}
	res.Accepted, res.Live = true, live.ID
	res.Reason = fmt.Sprintf("accepted: %d invariant(s) passed; %d file(s) written, %d deleted", len(res.Verdicts), len(rr.Written), len(rr.Deleted))

	if req.Commit {
		cctx, end := begin(c.cfg.Steps, ctx, "commit")
		hash, err := c.commit(cctx, req.Message, res)
		end(err)
		if err != nil {
			res.CommitError = factory.ErrorMessage(err)
		}
		res.Commit = hash
	}
	return res, nil
}

// ready reports whether every fact an invariant reads is in.
func ready(inv *compiled, facts, base treeFacts) bool {
	for _, r := range inv.refs {
		if _, ok := facts[r]; !ok && r != GateDiff {
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

func (c *Controller) configFromCopy(base factory.Snapshot, dir string) (*Config, error) {
	c.mu.Lock()
	cfg, ok := c.configs[base.Tree]
	c.mu.Unlock()
	if ok {
		return cfg, nil
	}
	data, err := readInDir(dir, ConfigFile)
	if err != nil {
		return nil, noConfig(base.ID)
	}
	cfg, err = Parse(ConfigFile, data)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.configs[base.Tree] = cfg
	c.mu.Unlock()
	return cfg, nil
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

// commit stages and commits exactly the promoted paths in the live tree.
func (c *Controller) commit(ctx context.Context, msg string, res ProposeResult) (string, error) {
	paths := append(append([]string{}, res.Written...), res.Deleted...)
	if len(paths) == 0 {
		return "", factory.Errorf(factory.EINVALID, "nothing to commit")
	}
	if strings.TrimSpace(msg) == "" {
		msg = "factory: accepted change"
	}
	full := strings.TrimRight(msg, "\n") + "\n\n" + strings.Join(CommitTrailers(factory.CallFrom(ctx).RunID, res.Verdicts), "\n") + "\n"
	root := c.cfg.Workspace.Root()
	git := func(args ...string) (CommandResult, error) {
		r, err := c.cfg.Runner.RunCommand(ctx, Command{Argv: append([]string{"git"}, args...), Dir: root, Host: true})
		if err == nil && r.ExitCode != 0 {
			err = factory.Errorf(factory.ECONFLICT, "git %s exited %d: %s", args[0], r.ExitCode, excerpt(append(r.Stdout, r.Stderr...), 2, 6))
		}
		return r, err
	}
	if _, err := git(append([]string{"add", "--all", "--"}, paths...)...); err != nil {
		return "", err
	}
	if _, err := git(append([]string{"commit", "--quiet", "--message=" + full, "--"}, paths...)...); err != nil {
		return "", err
	}
	r, err := git("rev-parse", "HEAD")
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(r.Stdout)), nil
}
