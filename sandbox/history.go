package sandbox

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/factory-dev/factory"
	"github.com/factory-dev/factory/sandbox/gitstore"
	"github.com/factory-dev/factory/sandbox/textdiff"
	"github.com/go-git/go-git/v5/plumbing"
)

// CommitInfo is one commit of a history walk.
type CommitInfo struct {
	Commit  string
	Tree    string
	Subject string
	Time    time.Time // committer time
}

// FirstParents returns the commits from revision from to revision to,
// both included, oldest first, following first parents from to (the
// commits a merge brought in are not listed: the merge stands for them,
// as git bisect --first-parent has it). At most limit commits are walked.
// The object store is read; nothing is written. Errors: those of
// ReadFileAt's revision; EINVALID when from is not a first-parent
// ancestor of to within limit commits.
func (w *Workspace) FirstParents(ctx context.Context, from, to string, limit int) ([]CommitInfo, error) {
	const op = "first-parent history"
	start, _, err := w.revisionTree(ctx, from)
	if err != nil {
		return nil, factory.Wrap(op, err)
	}
	c, _, err := w.revisionTree(ctx, to)
	if err != nil {
		return nil, factory.Wrap(op, err)
	}
	var out []CommitInfo
	for range limit {
		if err := ctx.Err(); err != nil {
			return nil, factory.Wrap(op, err)
		}
		b, err := w.store.ReadObject(plumbing.CommitObject, c)
		if err != nil {
			return nil, factory.Wrap(op, err)
		}
		info, parent := parseCommit(c, b)
		out = append(out, info)
		if c == start {
			for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
				out[i], out[j] = out[j], out[i]
			}
			return out, nil
		}
		if parent.IsZero() {
			break
		}
		c = parent
	}
	return nil, factory.Errorf(factory.EINVALID, "%s is not a first-parent ancestor of %s within %d commits; pass an older good that %s descends from", textdiff.Clip(from, 40), textdiff.Clip(to, 40), limit, textdiff.Clip(to, 40))
}

// parseCommit reads a commit object's tree, first parent, committer time
// and subject.
func parseCommit(c plumbing.Hash, b []byte) (CommitInfo, plumbing.Hash) {
	info := CommitInfo{Commit: c.String()}
	var parent plumbing.Hash
	head, msg, _ := strings.Cut(string(b), "\n\n")
	for _, line := range strings.Split(head, "\n") {
		k, v, _ := strings.Cut(line, " ")
		switch k {
		case "tree":
			info.Tree = v
		case "parent":
			if h, ok := gitstore.ParseHex(v); ok && parent.IsZero() {
				parent = h
			}
		case "committer":
			f := strings.Fields(v)
			if len(f) >= 2 {
				if sec, err := strconv.ParseInt(f[len(f)-2], 10, 64); err == nil {
					info.Time = time.Unix(sec, 0).UTC()
				}
			}
		}
	}
	info.Subject, _, _ = strings.Cut(strings.TrimSpace(msg), "\n")
	return info, parent
}
