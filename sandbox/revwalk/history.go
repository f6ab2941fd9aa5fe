package revwalk

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/factory-dev/factory/sandbox/gitstore"
	"github.com/factory-dev/factory/sandbox/gitstore/gitdir"
	"github.com/go-git/go-git/v5/plumbing"
)

// CommitInfo is one commit of a history walk.
type CommitInfo struct {
	Commit  string
	Tree    string
	Subject string
	Time    time.Time // committer time
}

// FirstParents walks, in s, first parents from commit to back to commit from,
// both included, and returns them oldest first; ok is false when from is
// not reached within limit commits. Only the object store is read.
func FirstParents(ctx context.Context, s *gitstore.Store, from, to plumbing.Hash, limit int) (out []CommitInfo, ok bool, err error) {
	c := to
	for range limit {
		if err := ctx.Err(); err != nil {
			return nil, false, err
		}
		b, err := s.ReadObject(plumbing.CommitObject, c)
		if err != nil {
			return nil, false, err
		}
		info, parent := parseCommit(c, b)
		out = append(out, info)
		if c == from {
			for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
				out[i], out[j] = out[j], out[i]
			}
			return out, true, nil
		}
		if parent.IsZero() {
			break
		}
		c = parent
	}
	return nil, false, nil
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
			if h, ok := gitdir.ParseHex(v); ok && parent.IsZero() {
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
