package gates

import (
	"context"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/factory-dev/factory"
	"github.com/factory-dev/factory/invariants/rules"
)

// pyImport is one module a file imports, as written.
type pyImport struct {
	module   string   // dotted name without the leading dots; "" for "from . import x"
	level    int      // leading dots of a relative import
	names    []string // from-import names (possible submodules); nil for import a.b
	line     int
	computed string // __import__(x) or import_module(x) with a non-literal argument
}

// pyImports reads every .py file of the tree with a tokenizer (pytokens.go)
// and returns the file graph: import a.b, from a import b, relative
// imports resolved against the file's package, and __import__("m") or
// importlib.import_module("m") (or (".m", "pkg")) with literal strings;
// with anything else they are unresolved edges. Importing a name from a
// package is an edge to the package's __init__.py and, when the name is a
// submodule, to its file. Imports under if TYPE_CHECKING: or in a
// function count like any other. A module is looked up from the root and
// from src/; one that is not in the tree is named by its top-level name
// (third-party or standard library).
func (r Tree) pyImports(ctx context.Context, g rules.Gate) (any, error) {
	t, err := scanSources(r.dir, map[string]bool{".py": true, ".pyi": true}, g.In)
	if err != nil {
		return nil, err
	}
	f := ImportsFacts{Packages: t.files, Edges: []ImportEdge{}}
	ctx, cancel := context.WithTimeout(ctx, timeoutOr(g.Timeout))
	defer cancel()
	var bad []string
	for _, file := range t.files {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		src, err := t.read(file)
		if err != nil {
			return nil, factory.Wrap("read "+file, err)
		}
		imps, err := pyScan(string(src))
		if err != nil {
			bad = append(bad, file+":"+err.Error())
			continue
		}
		for _, imp := range imps {
			f.Edges = append(f.Edges, t.pyEdges(file, imp)...)
		}
	}
	if len(bad) > 0 {
		return nil, factory.Errorf(factory.EINVALID, "py-imports could not read %d file(s); fix them or leave them out with paths:\n%s", len(bad), strings.Join(Limit(bad, 20), "\n"))
	}
	f.Edges = sortEdges(f.Edges)
	return f, nil
}

// pyScan finds the imports of one file.
func pyScan(src string) ([]pyImport, error) {
	lines, err := pyLex(src)
	if err != nil {
		return nil, err
	}
	var out []pyImport
	for _, l := range lines {
		out = append(out, pyCalls(l.toks)...)
		for _, st := range pyStatements(l.toks) {
			imps, err := pyStatement(st)
			if err != nil {
				return nil, err
			}
			out = append(out, imps...)
		}
	}
	return out, nil
}

// pyStatements splits a logical line where a statement may start: at ";"
// and after the ":" of a compound statement's header (if x: import y),
// both outside brackets.
func pyStatements(toks []pyTok) [][]pyTok {
	var out [][]pyTok
	depth, start := 0, 0
	for i, t := range toks {
		if t.kind != 'p' {
			continue
		}
		switch t.text {
		case "(", "[", "{":
			depth++
		case ")", "]", "}":
			depth--
		case ";", ":":
			if depth == 0 {
				out = append(out, toks[start:i])
				start = i + 1
			}
		}
	}
	return append(out, toks[start:])
}

// pyStatement reads an import statement; other statements yield nothing.
func pyStatement(st []pyTok) ([]pyImport, error) {
	if len(st) == 0 || st[0].kind != 'n' || (st[0].text != "import" && st[0].text != "from") {
		return nil, nil
	}
	line := st[0].line
	bad := fmt.Errorf("%d: a %s statement factory cannot read", line, st[0].text)
	if st[0].text == "import" {
		var out []pyImport
		for _, item := range pySplit(st[1:]) {
			mod, rest := pyDotted(item)
			if mod == "" || !pyAlias(rest) {
				return nil, bad
			}
			out = append(out, pyImport{module: mod, line: line})
		}
		return out, nil
	}
	level := 0
	i := 1
	for ; i < len(st) && st[i].kind == 'p' && st[i].text == "."; i++ {
		level++
	}
	mod, rest := pyDotted(st[i:])
	if (mod == "" && level == 0) || len(rest) == 0 || rest[0].text != "import" {
		return nil, bad
	}
	imp := pyImport{module: mod, level: level, line: line}
	names := rest[1:]
	if len(names) > 0 && names[0].text == "(" && names[len(names)-1].text == ")" {
		names = names[1 : len(names)-1]
	}
	for _, item := range pySplit(names) {
		if len(item) == 1 && item[0].text == "*" {
			continue
		}
		if len(item) == 0 || item[0].kind != 'n' || !pyAlias(item[1:]) {
			return nil, bad
		}
		imp.names = append(imp.names, item[0].text)
	}
	return []pyImport{imp}, nil
}

// pySplit splits tokens at commas; a trailing comma leaves no empty item.
func pySplit(toks []pyTok) [][]pyTok {
	var out [][]pyTok
	start := 0
	for i, t := range toks {
		if t.kind == 'p' && t.text == "," {
			out = append(out, toks[start:i])
			start = i + 1
		}
	}
	if start < len(toks) || len(out) == 0 {
		out = append(out, toks[start:])
	}
	return out
}

// pyDotted reads a dotted name; rest is what follows it.
func pyDotted(toks []pyTok) (name string, rest []pyTok) {
	i := 0
	for i < len(toks) && toks[i].kind == 'n' && toks[i].text != "import" {
		name += toks[i].text
		i++
		if i+1 < len(toks) && toks[i].text == "." && toks[i+1].kind == 'n' {
			name += "."
			i++
			continue
		}
		break
	}
	return name, toks[i:]
}

// pyAlias accepts nothing or "as name".
func pyAlias(toks []pyTok) bool {
	return len(toks) == 0 || len(toks) == 2 && toks[0].text == "as" && toks[1].kind == 'n'
}

// pyCalls finds __import__(...) and import_module(...) anywhere in a line.
// A literal absolute name is an import of that module, and so is
// import_module's relative ".x" with a literal package ("db"); anything
// else is an unresolved import: a computed name, __import__ with more
// arguments (its globals and level can make any name relative), a relative
// name whose package is not a literal.
func pyCalls(toks []pyTok) []pyImport {
	var out []pyImport
	for i := 0; i+2 < len(toks); i++ {
		t := toks[i]
		if t.kind != 'n' {
			continue
		}
		if what := pyRuntimeLoad(toks, i); what != "" {
			out = append(out, pyImport{line: t.line, computed: what})
			continue
		}
		if (t.text != "__import__" && t.text != "import_module") || toks[i+1].text != "(" {
			continue
		}
		mod, ok := pyCallModule(t.text, toks[i+2:])
		if !ok {
			out = append(out, pyImport{line: t.line, computed: t.text + "(<computed>)"})
			continue
		}
		out = append(out, pyImport{module: mod, line: t.line})
	}
	return out
}

// pyLoaders run code or load modules from places no import statement
// names; a call to one is an unresolved import.
var pyLoaders = map[string]bool{"exec": true, "eval": true, "spec_from_file_location": true, "SourceFileLoader": true,
	"run_path": true, "run_module": true, "addsitedir": true}

// pyRuntimeLoad names what toks[i] starts when it loads code at run time
// (a loader call, or a change of sys.path, which makes any later import
// land elsewhere), or "".
func pyRuntimeLoad(toks []pyTok, i int) string {
	t := toks[i]
	if pyLoaders[t.text] && toks[i+1].text == "(" && (i == 0 || toks[i-1].text != "def") {
		return t.text + "(<code>)"
	}
	if t.text != "sys" || i+3 >= len(toks) || toks[i+1].text != "." || toks[i+2].text != "path" {
		return ""
	}
	next := toks[i+3]
	if next.text == "=" || next.text == "+" || next.text == "[" ||
		next.text == "." && i+4 < len(toks) && (toks[i+4].text == "insert" || toks[i+4].text == "append" || toks[i+4].text == "extend") {
		return "sys.path(<changed>)"
	}
	return ""
}

// pyCallModule is the absolute module a call's arguments (after "(")
// name, when they are literals.
func pyCallModule(fn string, args []pyTok) (string, bool) {
	arg := args[0]
	if arg.kind != 's' || arg.raw || len(args) < 2 {
		return "", false
	}
	name := strings.TrimLeft(arg.text, ".")
	level := len(arg.text) - len(name)
	if fn == "__import__" || level == 0 {
		return name, name != "" && level == 0 && (args[1].text == ")" || fn == "import_module")
	}
	if len(args) < 4 || args[1].text != "," || args[2].kind != 's' || args[2].raw || args[3].text != ")" {
		return "", false
	}
	pkg := strings.Split(args[2].text, ".")
	if level-1 >= len(pkg) {
		return "", false
	}
	base := strings.Join(pkg[:len(pkg)-(level-1)], ".")
	if name == "" {
		return base, true
	}
	return base + "." + name, true
}

// pyEdges resolves one import of file into edges.
func (t sourceTree) pyEdges(file string, imp pyImport) []ImportEdge {
	pos := fmt.Sprintf("%s:%d", file, imp.line)
	if imp.computed != "" {
		return []ImportEdge{{From: file, To: imp.computed, Pos: pos, Unresolved: true}}
	}
	var bases []string
	if imp.level > 0 {
		var segs []string
		if d := path.Dir(file); d != "." {
			segs = strings.Split(d, "/")
		}
		if imp.level-1 > len(segs) {
			// beyond the top of the tree: Python refuses it, and so does the gate
			return []ImportEdge{{From: file, To: strings.Repeat(".", imp.level) + imp.module, Pos: pos, Unresolved: true}}
		}
		bases = []string{path.Join(append([]string{"."}, segs[:len(segs)-(imp.level-1)]...)...)}
	} else {
		bases = []string{".", "src"}
	}
	var out []ImportEdge
	for _, base := range bases {
		dir := path.Join(base, strings.ReplaceAll(imp.module, ".", "/"))
		found := t.pyModule(dir)
		for _, n := range imp.names {
			if sub := t.pyModule(path.Join(dir, n)); sub != "" {
				out = append(out, ImportEdge{From: file, To: sub, Pos: pos})
			}
		}
		if found != "" {
			out = append(out, ImportEdge{From: file, To: found, Pos: pos})
		}
		if len(out) > 0 {
			return out
		}
	}
	if imp.level > 0 {
		// not in the tree: where it points, so a glob over the package still matches
		return []ImportEdge{{From: file, To: path.Join(bases[0], strings.ReplaceAll(imp.module, ".", "/")), Pos: pos}}
	}
	// a missing submodule of a package of the tree imports that package
	parts := strings.Split(imp.module, ".")
	for n := len(parts) - 1; n > 0; n-- {
		for _, base := range bases {
			if found := t.pyModule(path.Join(base, strings.Join(parts[:n], "/"))); found != "" {
				return []ImportEdge{{From: file, To: found, Pos: pos}}
			}
		}
	}
	return []ImportEdge{{From: file, To: parts[0], Pos: pos}}
}

// pyModule is the file a module path names in the tree (dir.py or
// dir/__init__.py, through symlinks to their real place), or "".
func (t sourceTree) pyModule(dir string) string {
	if dir == "." || strings.HasPrefix(dir, "../") {
		return ""
	}
	for _, cand := range []string{dir + ".py", dir + "/__init__.py", dir + ".pyi", dir + "/__init__.pyi"} {
		full := filepath.Join(t.root, filepath.FromSlash(cand))
		if st, err := os.Stat(full); err == nil && st.Mode().IsRegular() {
			if rel, ok := t.inside(full); ok {
				return rel
			}
		}
	}
	return ""
}
