package revwalk

import (
	"os"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/factory-dev/factory"
	"github.com/factory-dev/factory/sandbox/gitstore"
	"github.com/factory-dev/factory/sandbox/gitstore/gitdir"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
)

// FileInTree returns the regular file at the clean path p in tree; at
// names the tree in error messages. Errors: ENOTFOUND when p is not in tree,
// EINVALID when it is not a regular file.
func FileInTree(s *gitstore.Store, tree plumbing.Hash, p, at string) ([]byte, error) {
	op := "read " + p + " at " + at
	parts := strings.Split(p, "/")
	for i, name := range parts {
		es, err := s.ReadTree(tree)
		if err != nil {
			return nil, factory.Wrap(op, err)
		}
		var found *gitstore.Entry
		for k := range es {
			if es[k].Name == name {
				found = &es[k]
				break
			}
		}
		switch {
		case found == nil:
			return nil, factory.Errorf(factory.ENOTFOUND, "%s is not committed at %s", p, at)
		case i < len(parts)-1 && found.Mode != filemode.Dir:
			return nil, factory.Errorf(factory.ENOTFOUND, "%s is not committed at %s (%s is not a directory there)", p, at, path.Join(parts[:i+1]...))
		case i < len(parts)-1:
			tree = found.Hash
		case !found.IsFile():
			return nil, factory.Errorf(factory.EINVALID, "%s at %s is not a regular file", p, at)
		default:
			b, err := s.ReadBlob(found.Hash)
			return b, factory.Wrap(op, err)
		}
	}
	return nil, factory.Errorf(factory.ENOTFOUND, "%s is not committed at %s", p, at)
}

// RefsByAge returns the object ids named by the loose refs in dir (one
// file per ref, named by the id, as refs/factory/accepted/<tree> are),
// newest first by the file's time. Packed refs are older and not listed.
func RefsByAge(dir string) []plumbing.Hash {
	es, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	type rec struct {
		h  plumbing.Hash
		at time.Time
	}
	var rs []rec
	for _, e := range es {
		if h, ok := gitdir.ParseHex(e.Name()); ok {
			if fi, err := e.Info(); err == nil {
				rs = append(rs, rec{h, fi.ModTime()})
			}
		}
	}
	sort.Slice(rs, func(i, j int) bool { return rs[i].at.After(rs[j].at) })
	out := make([]plumbing.Hash, len(rs))
	for i, r := range rs {
		out[i] = r.h
	}
	return out
}
