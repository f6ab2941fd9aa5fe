package sandbox

import (
	"bytes"
	"context"
	"sort"
	"strings"

	"github.com/factory-dev/factory"
	"github.com/factory-dev/factory/sandbox/gitstore"
	"github.com/factory-dev/factory/sandbox/textdiff"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
)

// DefaultMaxPatch is the cap on SnapshotDiff.Patch when Diff is given 0.
const DefaultMaxPatch = 32 << 10

// Diff compares snapshot from with snapshot to, or with the live tree when
// to is "" (the live tree is captured as a snapshot first, which is reused
// when nothing changed since the latest one). It returns a stat per file
// (renames detected as git does by default, at 50% similarity) and a
// git-style unified diff cut at maxPatch bytes (0 means DefaultMaxPatch),
// with Truncated and FullBytes saying how much there was.
//
// Errors: EINVALID for a malformed id, ENOTFOUND for an id that names no
// snapshot; EINTERNAL for a fault reading the object store. Diff never
// writes the user's index, HEAD, branches or working tree.
func (w *Workspace) Diff(ctx context.Context, from, to string, maxPatch int) (factory.SnapshotDiff, error) {
	if maxPatch <= 0 {
		maxPatch = DefaultMaxPatch
	}
	files, patch, err := w.diffByID(ctx, from, to, true)
	if err != nil {
		return factory.SnapshotDiff{}, err
	}
	d := factory.SnapshotDiff{From: from, To: to, Files: files, FullBytes: len(patch)}
	if len(patch) > maxPatch {
		cut := strings.LastIndexByte(patch[:maxPatch], '\n') + 1
		d.Patch, d.Truncated = patch[:cut], true
	} else {
		d.Patch = patch
	}
	if d.Files == nil {
		d.Files = []factory.FileStat{}
	}
	return d, nil
}

// FullDiff returns the whole unified diff between from and to (to "" is the
// live tree), uncapped. Errors as Diff.
func (w *Workspace) FullDiff(ctx context.Context, from, to string) (string, error) {
	_, patch, err := w.diffByID(ctx, from, to, true)
	return patch, err
}

func (w *Workspace) diffByID(ctx context.Context, from, to string, renames bool) ([]factory.FileStat, string, error) {
	op := "diff " + from + ".." + to
	if to == "" {
		op = "diff " + from + "..live"
	}
	_, ta, err := w.snapTree(ctx, from)
	if err != nil {
		return nil, "", factory.Wrap(op, err)
	}
	var tb plumbing.Hash
	if to == "" {
		if _, tb, err = w.captureLive(ctx, ""); err != nil {
			return nil, "", factory.Wrap(op, err)
		}
	} else if _, tb, err = w.snapTree(ctx, to); err != nil {
		return nil, "", factory.Wrap(op, err)
	}
	files, patch, err := w.diffTreeHashes(ctx, ta, tb, renames)
	if err != nil {
		return nil, "", factory.Wrap(op, err)
	}
	return files, patch, nil
}

// diffTreeHashes computes the stat and the whole patch between two trees.
func (w *Workspace) diffTreeHashes(ctx context.Context, a, b plumbing.Hash, renames bool) ([]factory.FileStat, string, error) {
	changes, err := w.store.DiffTrees(ctx, a, b, 0)
	if err != nil {
		return nil, "", err
	}
	// Read every blob involved once.
	need := map[plumbing.Hash]bool{}
	for _, c := range changes {
		if c.From != nil && c.From.Mode != filemode.Submodule {
			need[c.From.Hash] = true
		}
		if c.To != nil && c.To.Mode != filemode.Submodule {
			need[c.To.Hash] = true
		}
	}
	hashes := make([]plumbing.Hash, 0, len(need))
	for h := range need {
		hashes = append(hashes, h)
	}
	blobs, err := w.blobMap(ctx, hashes)
	if err != nil {
		return nil, "", err
	}
	side := func(e *gitstore.Entry) *textdiff.Side {
		if e == nil {
			return nil
		}
		sd := &textdiff.Side{Mode: uint32(e.Mode), Hash: e.Hash.String(), Data: blobs[e.Hash]}
		if e.Mode == filemode.Submodule {
			sd.Data = []byte("Subproject commit " + e.Hash.String() + "\n")
		}
		return sd
	}
	var pairs []textdiff.FilePair
	for _, c := range changes {
		pairs = append(pairs, textdiff.FilePair{OldPath: c.Path, NewPath: c.Path, From: side(c.From), To: side(c.To)})
	}
	if renames {
		pairs = textdiff.DetectRenames(pairs)
	}
	sort.SliceStable(pairs, func(i, j int) bool { return pairs[i].NewPath < pairs[j].NewPath })

	var stats []factory.FileStat
	var buf bytes.Buffer
	for _, p := range pairs {
		if err := ctx.Err(); err != nil {
			return nil, "", err
		}
		stats = append(stats, textdiff.WriteFilePatch(&buf, p))
	}
	return stats, buf.String(), nil
}

// blobMap reads the given blobs into a map, in parallel when there are many.
func (w *Workspace) blobMap(ctx context.Context, hashes []plumbing.Hash) (map[plumbing.Hash][]byte, error) {
	out := make(map[plumbing.Hash][]byte, len(hashes))
	if len(hashes) < 64 {
		for _, h := range hashes {
			b, err := w.store.ReadBlob(h)
			if err != nil {
				return nil, err
			}
			out[h] = b
		}
		return out, nil
	}
	var mu = make(chan struct{}, 1)
	err := w.store.ReadBlobs(ctx, hashes, func(h plumbing.Hash, b []byte) error {
		mu <- struct{}{}
		out[h] = b
		<-mu
		return nil
	})
	return out, err
}
