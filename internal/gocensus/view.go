package gocensus

import (
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"
)

// RootView is a View of a directory, read through os.Root so that no
// symbolic link in the tree reaches outside it.
type RootView struct {
	root  *os.Root
	paths []string
}

// NewRootView lists root's .go and go.mod files. It skips .git and
// directories go's wildcards never enter (testdata, vendor, names starting
// with . or _), so Take sees what go test would.
func NewRootView(root *os.Root) (*RootView, error) {
	v := &RootView{root: root}
	err := fs.WalkDir(root.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == "." {
				return err
			}
			return nil
		}
		if d.IsDir() {
			if p != "." && skippedDir(p) {
				return fs.SkipDir
			}
			return nil
		}
		if d.Type().IsRegular() && (strings.HasSuffix(p, ".go") || path.Base(p) == "go.mod") {
			v.paths = append(v.paths, p)
		}
		return nil
	})
	sort.Strings(v.paths)
	return v, err
}

// Paths implements View.
func (v *RootView) Paths() []string { return v.paths }

// ReadFile implements View.
func (v *RootView) ReadFile(p string) ([]byte, error) { return v.root.ReadFile(p) }

// Overlay is a View of another tree derived from Under: Files replace or
// add files (nil content: the file is absent).
type Overlay struct {
	Under View
	Files map[string][]byte
}

// Paths implements View.
func (o Overlay) Paths() []string {
	var out []string
	for _, p := range o.Under.Paths() {
		if c, ok := o.Files[p]; !ok || c != nil {
			out = append(out, p)
		}
	}
	for p, c := range o.Files {
		if c == nil || !(strings.HasSuffix(p, ".go") || path.Base(p) == "go.mod") {
			continue
		}
		if i := sort.SearchStrings(o.Under.Paths(), p); i < len(o.Under.Paths()) && o.Under.Paths()[i] == p {
			continue
		}
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// ReadFile implements View.
func (o Overlay) ReadFile(p string) ([]byte, error) {
	if c, ok := o.Files[p]; ok {
		if c == nil {
			return nil, fs.ErrNotExist
		}
		return c, nil
	}
	return o.Under.ReadFile(p)
}
