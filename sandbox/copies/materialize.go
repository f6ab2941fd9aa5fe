package copies

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"sort"
	"strings"

	"github.com/factory-dev/factory"
	"github.com/factory-dev/factory/sandbox/gitstore"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
)

// flatEntry is one path of a flattened tree.
type flatEntry struct {
	Path string
	gitstore.Entry
}

// Materialize writes tree into dir, which must be empty or not exist yet:
// every file with its executable bit, symlinks as links, submodules as
// empty directories (as a checkout without submodule init leaves them).
// Writes go through os.Root on dir, so no entry of the tree can land
// outside it. Blobs are read and written by several goroutines at once.
// Errors: EINVALID when dir exists and is not an empty directory or the
// tree holds an unsafe path; otherwise faults of the object store or the
// disk (dir may then hold part of the tree: remove it).
func (m *Maker) Materialize(ctx context.Context, tree plumbing.Hash, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return factory.Wrap("make "+dir, err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return factory.Wrap("open "+dir, err)
	}
	defer root.Close()
	if f, err := root.Open("."); err == nil {
		_, err := f.Readdirnames(1)
		f.Close()
		if !errors.Is(err, io.EOF) {
			return factory.Errorf(factory.EINVALID, "%s is not empty; materialise into an empty or new directory", dir)
		}
	}
	flat, err := m.cfg.Store.FlatTree(ctx, tree)
	if err != nil {
		return err
	}
	entries := make([]flatEntry, 0, len(flat))
	dirs := map[string]bool{}
	for p, e := range flat {
		if !validTreePath(p) {
			return factory.Errorf(factory.EINVALID, "the snapshot holds an unsafe path %q; refusing to materialise it", p)
		}
		entries = append(entries, flatEntry{p, e})
		for d := path.Dir(p); d != "." && !dirs[d]; d = path.Dir(d) {
			dirs[d] = true
		}
	}
	dl := make([]string, 0, len(dirs))
	for d := range dirs {
		dl = append(dl, d)
	}
	sort.Strings(dl) // parents sort before their children
	for _, d := range dl {
		if err := root.Mkdir(d, 0o755); err != nil {
			return fmt.Errorf("make directory %s: %w", d, err)
		}
	}
	byHash := map[plumbing.Hash][]flatEntry{}
	for _, e := range entries {
		if e.Mode == filemode.Submodule {
			if err := root.Mkdir(e.Path, 0o755); err != nil {
				return fmt.Errorf("make directory %s: %w", e.Path, err)
			}
			continue
		}
		byHash[e.Hash] = append(byHash[e.Hash], e)
	}
	hashes := make([]plumbing.Hash, 0, len(byHash))
	for h := range byHash {
		hashes = append(hashes, h)
	}
	return m.cfg.Store.ReadBlobs(ctx, hashes, func(h plumbing.Hash, b []byte) error {
		for _, e := range byHash[h] {
			if err := writeEntry(root, e, b); err != nil {
				return err
			}
		}
		return nil
	})
}

// writeEntry creates one file or symlink under root.
func writeEntry(root *os.Root, e flatEntry, b []byte) error {
	if e.Mode == filemode.Symlink {
		if err := root.Symlink(string(b), e.Path); err != nil {
			return fmt.Errorf("write %s: %w", e.Path, err)
		}
		return nil
	}
	perm := os.FileMode(0o644)
	if e.Mode == filemode.Executable {
		perm = 0o755
	}
	f, err := root.OpenFile(e.Path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return fmt.Errorf("write %s: %w", e.Path, err)
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", e.Path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", e.Path, err)
	}
	return nil
}

// validTreePath reports whether a path read from a tree object is safe to
// create: no empty, ".", ".." or ".git" component.
func validTreePath(p string) bool {
	for _, c := range strings.Split(p, "/") {
		if c == "" || c == "." || c == ".." || strings.EqualFold(c, ".git") {
			return false
		}
	}
	return true
}
