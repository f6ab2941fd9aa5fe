package gates

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"go/parser"
	"go/token"
	"io"
	"path"
	"path/filepath"
	"sort"
	"strconv"

	"github.com/factory-dev/factory"
	"github.com/factory-dev/factory/invariants/rules"
)

// listedPackage is the part of go list -json the imports gate reads.
type listedPackage struct {
	ImportPath string
	Dir        string
	GoFiles    []string
	CgoFiles   []string
	Imports    []string
	Standard   bool
	Module     *struct{ Path string }
	Error      *struct{ Err string }
}

// imports lists the packages (go list) and their import edges, each with
// the file and line that writes it, for deny_imports rules.
func (r Tree) imports(ctx context.Context, g rules.Gate) (any, error) {
	pkgs := PackagesOr(g.Packages)
	if err := safePatterns(pkgs); err != nil {
		return nil, err
	}
	argv := append([]string{"go", "list", "-e", "-json=ImportPath,Dir,GoFiles,CgoFiles,Imports,Standard,Module,Error", "--"}, pkgs...)
	res, err := r.exec(ctx, g, argv)
	if err != nil {
		return nil, err
	}
	if res.ExitCode != 0 {
		return nil, factory.Errorf(factory.EINVALID, "go list exited %d: %s", res.ExitCode, excerpt(res.Stderr, 3, 5))
	}
	f := ImportsFacts{Packages: []string{}, Edges: []ImportEdge{}}
	dec := json.NewDecoder(bytes.NewReader(res.Stdout))
	fset := token.NewFileSet()
	for {
		var p listedPackage
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			return nil, factory.Errorf(factory.EINTERNAL, "read go list output: %v", err)
		}
		if p.Module != nil && f.Module == "" {
			f.Module = p.Module.Path
		}
		f.Packages = append(f.Packages, p.ImportPath)
		if p.Error != nil {
			f.Errors = append(f.Errors, p.ImportPath+": "+p.Error.Err)
		}
		pos := importPositions(fset, r.dir, res, p)
		for _, imp := range p.Imports {
			if imp == "C" {
				continue
			}
			f.Edges = append(f.Edges, ImportEdge{From: p.ImportPath, To: imp, Pos: pos[imp]})
		}
	}
	return f, nil
}

// importPositions finds where each import of a package is written, as
// "file:line" with the file relative to the tree in dir (the first file
// that imports it); res is go list's result, whose package directories are
// as the command saw the tree (see treePath). A package outside the tree
// gets absolute file names.
func importPositions(fset *token.FileSet, dir string, res CommandResult, p listedPackage) map[string]string {
	out := map[string]string{}
	relDir, hostDir, inTree := treePath(dir, res, p.Dir)
	files := append(append([]string{}, p.GoFiles...), p.CgoFiles...)
	sort.Strings(files)
	for _, name := range files {
		full := filepath.Join(hostDir, name)
		af, err := parser.ParseFile(fset, full, nil, parser.ImportsOnly)
		if err != nil {
			continue
		}
		shown := filepath.ToSlash(full)
		if inTree {
			shown = path.Join(relDir, name)
		}
		for _, is := range af.Imports {
			ip, err := strconv.Unquote(is.Path.Value)
			if err != nil || out[ip] != "" {
				continue
			}
			out[ip] = fmt.Sprintf("%s:%d", shown, fset.Position(is.Pos()).Line)
		}
	}
	return out
}
