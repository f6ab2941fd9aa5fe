package invariants

import (
	"context"
	"fmt"
	"strings"

	"github.com/factory-dev/factory"
	"github.com/factory-dev/factory/invariants/gates"
)

// AlreadyAppliedReason is the answer to a patch the working tree already
// holds: an agent that edits with its own tools and then sends the diff
// means to gate the tree it has.
const AlreadyAppliedReason = "the patch is already applied to the working tree; call change_propose without a patch to gate the working tree as it is"

// AppliedIn reports whether dir already holds patch: its reverse applies
// there (in a dry run: nothing is written). apply is a Copy's or the workspace's Apply.
func AppliedIn(ctx context.Context, apply func(context.Context, factory.PatchRequest) (factory.PatchReport, error), patch string) bool {
	rev, ok := ReversePatch(patch)
	if !ok {
		return false
	}
	rep, err := apply(ctx, factory.PatchRequest{Patch: rev, DryRun: true})
	return err == nil && rep.Applied
}

// proposeTree judges the working tree as it is: the agent's workspace,
// edited with any tool. The result is a snapshot of the live tree, the
// base a snapshot or revision (HEAD by default), and the gates run on an
// isolated copy of the result exactly as for a patch. Nothing is written
// to the working tree either way: a rejection leaves it as it is, with the
// verdicts; an acceptance records the accepted snapshot (Result) and, with
// Commit, commits exactly that tree on the current branch (see
// commitTree).
//
// Protect is judged against HEAD whatever the base: a commit lands on HEAD,
// and an older base would otherwise hide an edit of a protected file made
// since, a newer one (a snapshot holding the edit) hide it entirely. With
// Commit the base must be HEAD's tree: what is committed is the change from
// HEAD, so that is the change that must have been judged.
func (c *Controller) proposeTree(ctx context.Context, req ProposeRequest) (ProposeResult, error) {
	var res ProposeResult
	cfg, note, err := c.rules(ctx)
	if err != nil {
		return res, err
	}
	res.ConfigNote = note
	p := c.plan(cfg)
	head, base, err := c.treeBase(ctx, req.Base)
	if err != nil {
		return res, err
	}
	if req.Commit && base.Tree != head.Tree {
		return res, factory.Errorf(factory.EINVALID, "commit needs the working tree judged against HEAD, the commit's parent (base %q is another tree); drop base to commit, or drop commit to compare with %s", req.Base, req.Base)
	}
	res.Base = base.ID
	sctx, end := begin(c.cfg.Steps, ctx, "snapshot working tree")
	result, err := c.cfg.Workspace.Snapshot(sctx, "propose working tree")
	end(err)
	if err != nil {
		return res, err
	}
	res.Result = result.ID
	if result.Tree == base.Tree {
		res.Reason = "the working tree does not differ from the base (" + baseName(req.Base) + "): nothing to judge. Edit files first, or send a patch"
		return res, nil
	}
	vs, failed, err := c.judgeTree(ctx, p, head, base, result)
	res.Verdicts = vs
	if err != nil {
		return res, err
	}
	if len(failed) > 0 {
		res.Reason = "rejected: " + strings.Join(failed, ", ") + " failed; the working tree is left as it is"
		return res, nil
	}
	res.Accepted = true
	res.Reason = fmt.Sprintf("accepted: %d invariant(s) passed on the working tree against %s; nothing was written", len(vs), baseName(req.Base))
	// Judged against HEAD, the tree may now be committed by any route (the
	// git and Claude Code hooks look it up); judged against another base,
	// its baselines were not the branch's, so it is not marked.
	if base.Tree == head.Tree {
		if err := c.cfg.Workspace.MarkAccepted(ctx, result.ID); err != nil {
			return res, err
		}
	}
	if req.Commit {
		return res, c.commitTree(ctx, req, head, result, &res)
	}
	return res, nil
}

func baseName(base string) string {
	if base == "" {
		return "HEAD"
	}
	return base
}

// treeBase resolves HEAD and the base a working tree is judged against: a
// snapshot id (s-...), else a revision.
func (c *Controller) treeBase(ctx context.Context, name string) (head, base factory.Snapshot, err error) {
	ws := c.cfg.Workspace
	sctx, end := begin(c.cfg.Steps, ctx, "snapshot base")
	defer func() { end(err) }()
	if head, err = ws.SnapshotRevision(sctx, "HEAD", "propose HEAD"); err != nil {
		return head, base, err
	}
	switch {
	case name == "" || name == "HEAD":
		return head, head, nil
	case strings.HasPrefix(name, "s-"):
		base, err = ws.Resolve(sctx, name)
	default:
		base, err = ws.SnapshotRevision(sctx, name, "propose base "+name)
	}
	return head, base, err
}

// judgeTree runs the gates on an isolated copy of result, judging the
// change base->result, and protect on head->result.
func (c *Controller) judgeTree(ctx context.Context, p *plan, head, base, result factory.Snapshot) ([]factory.Verdict, []string, error) {
	ws := c.cfg.Workspace
	ictx, end := begin(c.cfg.Steps, ctx, "isolate")
	cp, err := ws.Isolate(ictx, result.ID)
	end(err)
	if err != nil {
		return nil, nil, err
	}
	defer func() {
		if err := cp.Close(); err != nil {
			c.log.Warn("release isolated copy", "dir", cp.Dir(), "err", err)
		}
	}()
	var protect *gates.DiffFacts
	if head.Tree != base.Tree {
		if protect, err = c.diffFacts(ctx, head.ID, result.ID); err != nil {
			return nil, nil, err
		}
	}
	return c.gateChange(ctx, p, base, result, cp.Dir(), protect)
}

// commitTree commits the accepted working tree, exactly, on HEAD's
// branch: under the landing lock, and only if neither the working tree
// nor HEAD moved since they were judged (else what would be committed, or
// what it lands on, is not what was gated). A refusal is CommitError, with
// the verdicts still standing.
func (c *Controller) commitTree(ctx context.Context, req ProposeRequest, head, result factory.Snapshot, res *ProposeResult) error {
	ws := c.cfg.Workspace
	unlock, err := c.lockLanding(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	sctx, end := begin(c.cfg.Steps, ctx, "snapshot landing")
	live, err := ws.Snapshot(sctx, "propose landing")
	if err == nil {
		head, err = c.headMoved(sctx, head)
	}
	end(err)
	switch {
	case err != nil:
		return err
	case live.Tree != result.Tree:
		res.CommitError = fmt.Sprintf("the working tree changed after it was gated (it is now %s, the gated tree is %s); nothing was committed. Call change_propose again to gate it as it is now", live.ID, result.ID)
	case head.ID != "":
		res.CommitError = "HEAD moved while the gates ran (a commit landed); nothing was committed. Call change_propose again to judge the working tree against the new HEAD"
	}
	if res.CommitError != "" {
		res.Reason += "; " + res.CommitError
		return nil
	}
	cctx, end := begin(c.cfg.Steps, ctx, "commit")
	hash, err := ws.Commit(cctx, result.Tree, commitMessage(ctx, req.Message, res.Verdicts))
	end(err)
	res.Commit = hash
	if err != nil {
		res.CommitError = factory.ErrorMessage(err)
		res.Reason += "; the commit failed: " + res.CommitError
		return nil
	}
	res.Reason += "; committed " + hash
	return nil
}

// headMoved returns HEAD now when its tree is no longer the judged one's,
// else a zero snapshot.
func (c *Controller) headMoved(ctx context.Context, judged factory.Snapshot) (factory.Snapshot, error) {
	now, err := c.cfg.Workspace.SnapshotRevision(ctx, "HEAD", "propose HEAD")
	if err != nil || now.Tree == judged.Tree {
		return factory.Snapshot{}, err
	}
	return now, nil
}
