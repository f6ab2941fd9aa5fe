package gocensus

import (
	"errors"
	"fmt"
	"go/ast"
	"go/build"
	"go/doc"
	"go/parser"
	"go/token"
	"io"
	"io/fs"
	"path"
	"regexp"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// View is a tree's Go sources: its .go and go.mod files.
type View interface {
	// Paths lists the tree's .go and go.mod files, slash-separated and
	// relative to the tree, sorted.
	Paths() []string
	// ReadFile reads one of them.
	ReadFile(p string) ([]byte, error)
}

// Test is one top-level test go test runs: a Test function, a Fuzz
// target (its seed corpus runs as a test) or an Example with an output
// comment. Subtests are not declarations and are not listed.
type Test struct {
	Package string // import path, as go test -json names it
	Name    string
	File    string // slash-separated, relative to the tree
	Line    int
}

// Key is how a report names the test: "import/path.TestName".
func (t Test) Key() string { return t.Package + "." + t.Name }

// Census is the tests a go test command would run on a tree.
type Census struct {
	Module string
	Tests  []Test            // those the command selects (-run, -skip), sorted by key
	Dirs   map[string]string // selected package directories (slash, relative to the tree) -> import path
}

// Take lists the tests sel would run on the tree v holds, the way go test
// finds them (cmd/go/internal/load's test function rules): _test.go files
// of the selected packages that build constraints admit (sel.Tags, GOOS
// and GOARCH of sel.Env or the host), top-level funcs TestXxx(*T),
// FuzzXxx(*F) and TestMain(*T), and examples with an output comment; then
// -run and -skip applied to their names. Packages in other modules (a
// nested go.mod), and directories go's wildcards skip (testdata, vendor,
// names starting with . or _), are not part of the selection even when
// named explicitly. Errors: no go.mod where go runs, a pattern this reader
// cannot follow (all, std, a path outside the module), a -run or -skip
// that does not compile.
func Take(v View, sel Selection) (Census, error) {
	c := Census{Dirs: map[string]string{}}
	gomod, err := v.ReadFile(path.Join(sel.Dir, "go.mod"))
	if err != nil {
		return c, fmt.Errorf("no go.mod in %q, where go test runs: %v", "./"+sel.Dir, err)
	}
	if c.Module = ModulePath(gomod); c.Module == "" {
		return c, errors.New("go.mod declares no module path")
	}
	match, err := patternMatcher(c.Module, sel.Patterns)
	if err != nil {
		return c, err
	}
	run, err := newNameMatcher(sel.Run, sel.Skip)
	if err != nil {
		return c, err
	}
	byDir := map[string][]string{}
	nested := map[string]bool{}
	for _, p := range v.Paths() {
		dir, name := path.Split(p)
		dir = strings.TrimSuffix(dir, "/")
		rel, ok := relTo(sel.Dir, dir)
		if !ok {
			continue
		}
		if name == "go.mod" && rel != "" {
			nested[rel] = true
		}
		if strings.HasSuffix(name, "_test.go") {
			byDir[rel] = append(byDir[rel], name)
		}
	}
	ctx := buildContext(v, sel)
	for rel, names := range byDir {
		if skippedDir(rel) || inNested(rel, nested) || !match(rel) {
			continue
		}
		ip := c.Module
		if rel != "" {
			ip += "/" + rel
		}
		dir := path.Join(sel.Dir, rel)
		c.Dirs[dir] = ip
		for _, name := range names {
			if ok, err := ctx.MatchFile(dir, name); err != nil || !ok {
				continue
			}
			for _, t := range declared(v, path.Join(dir, name)) {
				t.Package = ip
				if run.selects(t.Name) {
					c.Tests = append(c.Tests, t)
				}
			}
		}
	}
	if sel.List {
		c.Tests = nil // -list prints names and runs nothing
	}
	sort.Slice(c.Tests, func(i, j int) bool { return c.Tests[i].Key() < c.Tests[j].Key() })
	return c, nil
}

// declared returns the tests one _test.go file declares. A file that does
// not parse declares none: go test fails to build it, which the suite
// reports as a build error.
func declared(v View, file string) []Test {
	src, err := v.ReadFile(file)
	if err != nil {
		return nil
	}
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, file, src, parser.ParseComments|parser.SkipObjectResolution)
	if err != nil {
		return nil
	}
	var out []Test
	add := func(name string, pos token.Pos) {
		out = append(out, Test{Name: name, File: file, Line: fset.Position(pos).Line})
	}
	for _, d := range f.Decls {
		fn, ok := d.(*ast.FuncDecl)
		if !ok || fn.Recv != nil {
			continue
		}
		name := fn.Name.Name
		switch {
		case isTest(name, "Test") && isTestFunc(fn, "T"): // TestMain(*testing.T) is a test too
			add(name, fn.Pos())
		case isTest(name, "Fuzz") && isTestFunc(fn, "F"):
			add(name, fn.Pos())
		}
	}
	for _, e := range doc.Examples(f) {
		if e.Output != "" || e.EmptyOutput {
			add("Example"+e.Name, e.Code.Pos())
		}
	}
	return out
}

// isTest and isTestFunc are cmd/go/internal/load's.
func isTest(name, prefix string) bool {
	if !strings.HasPrefix(name, prefix) {
		return false
	}
	if len(name) == len(prefix) {
		return true
	}
	r, _ := utf8.DecodeRuneInString(name[len(prefix):])
	return !unicode.IsLower(r)
}

func isTestFunc(fn *ast.FuncDecl, arg string) bool {
	if fn.Type.Results != nil && len(fn.Type.Results.List) > 0 || fn.Type.Params.List == nil ||
		len(fn.Type.Params.List) != 1 || len(fn.Type.Params.List[0].Names) > 1 || fn.Type.TypeParams != nil {
		return false
	}
	ptr, ok := fn.Type.Params.List[0].Type.(*ast.StarExpr)
	if !ok {
		return false
	}
	if name, ok := ptr.X.(*ast.Ident); ok && name.Name == arg {
		return true
	}
	sel, ok := ptr.X.(*ast.SelectorExpr)
	return ok && sel.Sel.Name == arg
}

// ModulePath returns the module path a go.mod declares, "" if none.
func ModulePath(gomod []byte) string {
	for _, l := range strings.Split(string(gomod), "\n") {
		f := strings.Fields(l)
		if len(f) >= 2 && f[0] == "module" {
			return strings.Trim(f[1], `"`)
		}
	}
	return ""
}

// relTo returns dir relative to base ("" for base itself).
func relTo(base, dir string) (string, bool) {
	switch {
	case base == "":
		return dir, true
	case dir == base:
		return "", true
	case strings.HasPrefix(dir, base+"/"):
		return dir[len(base)+1:], true
	}
	return "", false
}

// skippedDir reports whether go's wildcards skip rel: an element named
// testdata or vendor or starting with . or _.
func skippedDir(rel string) bool {
	if rel == "" {
		return false
	}
	for _, e := range strings.Split(rel, "/") {
		if e == "testdata" || e == "vendor" || strings.HasPrefix(e, ".") || strings.HasPrefix(e, "_") {
			return true
		}
	}
	return false
}

// inNested reports whether rel is in a nested module (a directory at or
// above it, below the module root, has a go.mod).
func inNested(rel string, nested map[string]bool) bool {
	for d := rel; d != "" && d != "."; d = path.Dir(d) {
		if nested[d] {
			return true
		}
	}
	return false
}

// patternMatcher returns whether a directory (relative to the module root)
// is selected by the package patterns, which are relative ("./x/...") or
// import paths under module.
func patternMatcher(module string, patterns []string) (func(rel string) bool, error) {
	if len(patterns) == 0 {
		patterns = []string{"."}
	}
	var res []*regexp.Regexp
	for _, p := range patterns {
		rel, ok := "", false
		switch {
		case p == "." || p == "./":
			rel, ok = "", true
		case strings.HasPrefix(p, "./"):
			rel, ok = path.Clean(p[2:]), true
		case p == module:
			rel, ok = "", true
		case strings.HasPrefix(p, module+"/"):
			rel, ok = p[len(module)+1:], true
		}
		if !ok || rel == ".." || strings.HasPrefix(rel, "../") {
			return nil, fmt.Errorf("package pattern %q is not a path in module %s (./x, ./x/... or %s/x)", p, module, module)
		}
		if rel == "." {
			rel = ""
		}
		q := regexp.QuoteMeta(rel)
		switch {
		case rel == "...":
			q = `.*`
		case strings.HasSuffix(q, `/\.\.\.`):
			q = strings.TrimSuffix(q, `/\.\.\.`) + `(/.*)?`
		}
		q = strings.ReplaceAll(q, `\.\.\.`, `.*`)
		res = append(res, regexp.MustCompile("^"+q+"$"))
	}
	return func(rel string) bool {
		for _, re := range res {
			if re.MatchString(rel) {
				return true
			}
		}
		return false
	}, nil
}

// buildContext is the host's build context with sel's tags and target,
// reading files through v.
func buildContext(v View, sel Selection) build.Context {
	ctx := build.Default
	ctx.BuildTags = sel.Tags
	if s := sel.Env["GOOS"]; s != "" {
		ctx.GOOS = s
	}
	if s := sel.Env["GOARCH"]; s != "" {
		ctx.GOARCH = s
	}
	if s := sel.Env["CGO_ENABLED"]; s != "" {
		ctx.CgoEnabled = s == "1"
	}
	ctx.JoinPath = path.Join
	ctx.OpenFile = func(p string) (io.ReadCloser, error) {
		b, err := v.ReadFile(p)
		if err != nil {
			return nil, err
		}
		return io.NopCloser(strings.NewReader(string(b))), nil
	}
	ctx.ReadDir = func(string) ([]fs.FileInfo, error) { return nil, errors.New("not used") }
	return ctx
}
