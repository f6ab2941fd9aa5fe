package gates

import (
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/factory-dev/factory"
	"github.com/factory-dev/factory/invariants/rules"
)

// skippedDirs are never read by the js-imports and py-imports gates:
// dependency directories (made visible in copies though gitignored) and
// tool state; nor is a directory tagged with CACHEDIR.TAG (cargo's
// target). The copy otherwise holds only the tree as git tracks it.
var skippedDirs = map[string]bool{
	".git": true, "node_modules": true, ".venv": true, "venv": true,
	"__pycache__": true, ".mypy_cache": true, ".pytest_cache": true, ".tox": true,
}

// sourceTree is the tree an import gate reads: its real root (symlinks
// resolved, as the resolvers see paths) and the files it scans.
type sourceTree struct {
	root  string   // the copy's root, symlinks resolved
	files []string // slash paths relative to root, sorted
}

// scanSources lists the files under dir whose extension is in exts and
// which match the gate's globs (all files when it names none). A symlink
// whose target is outside the tree is refused: the gates read files in
// factory's own process, not in the sandbox, and a link out of the copy
// would let a change make them read (and quote in errors) host files.
// Symlinked directories are not descended: their files are scanned at
// their real place, and imports through them resolve to it.
func scanSources(dir string, exts map[string]bool, globs []string) (sourceTree, error) {
	root, err := filepath.Abs(dir)
	if err == nil {
		root, err = filepath.EvalSymlinks(root)
	}
	if err != nil {
		return sourceTree{}, factory.Wrap("read the tree", err)
	}
	t := sourceTree{root: root}
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel := filepath.ToSlash(strings.TrimPrefix(p, root+string(filepath.Separator)))
		if d.IsDir() && p != root && (skippedDirs[d.Name()] || isCacheDir(p)) {
			return filepath.SkipDir
		}
		if d.Type()&fs.ModeSymlink != 0 {
			if _, ok := t.inside(p); !ok {
				return factory.Errorf(factory.EINVALID, "%s is a symlink out of the tree; an import gate reads only the tree's own files: replace the link by the files it should name", rel)
			}
			return nil
		}
		if d.Type().IsRegular() && exts[path.Ext(rel)] && rules.MatchAny(globs, rel) {
			t.files = append(t.files, rel)
		}
		return nil
	})
	if err != nil {
		return sourceTree{}, err
	}
	sort.Strings(t.files)
	return t, nil
}

// isCacheDir reports whether dir is tagged as a cache (CACHEDIR.TAG, as
// cargo's target directory is): build output, not source.
func isCacheDir(dir string) bool {
	_, err := os.Lstat(filepath.Join(dir, "CACHEDIR.TAG"))
	return err == nil
}

// inside resolves the symlinks of p and returns it relative to the root,
// slash-separated; ok is false when it lands outside the tree or does not
// resolve.
func (t sourceTree) inside(p string) (string, bool) {
	real, err := filepath.EvalSymlinks(p)
	if err != nil {
		return "", false
	}
	rel, err := filepath.Rel(t.root, real)
	if err != nil || !filepath.IsLocal(rel) {
		return "", false
	}
	return filepath.ToSlash(rel), true
}

// read returns a scanned file's bytes.
func (t sourceTree) read(rel string) ([]byte, error) {
	r, err := os.OpenRoot(t.root)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return r.ReadFile(filepath.FromSlash(rel))
}

// lineOf is the 1-based line of byte offset off in src.
func lineOf(src []byte, off int) int {
	return 1 + strings.Count(string(src[:min(off, len(src))]), "\n")
}

// sortEdges orders edges by importer, then target, then position, and
// drops repeats (an import written twice in one file counts once, at its
// first place); every unresolved import is kept, each at its own place.
func sortEdges(es []ImportEdge) []ImportEdge {
	sort.SliceStable(es, func(i, j int) bool {
		if es[i].From != es[j].From {
			return es[i].From < es[j].From
		}
		if es[i].To != es[j].To {
			return es[i].To < es[j].To
		}
		return posLess(es[i].Pos, es[j].Pos)
	})
	out := es[:0]
	for i, e := range es {
		if i > 0 && es[i-1].From == e.From && es[i-1].To == e.To && es[i-1].Unresolved == e.Unresolved && (!e.Unresolved || es[i-1].Pos == e.Pos) {
			continue
		}
		out = append(out, e)
	}
	return out
}

// posLess orders "file:line" positions by line number.
func posLess(a, b string) bool {
	la, lb := a[strings.LastIndexByte(a, ':')+1:], b[strings.LastIndexByte(b, ':')+1:]
	if len(la) != len(lb) {
		return len(la) < len(lb)
	}
	return la < lb
}
