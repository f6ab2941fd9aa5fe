package gocensus

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"strconv"
	"strings"
)

// Finding is code that can stop tests from running or forge the output
// that says they ran.
type Finding struct {
	File string // slash-separated, relative to the tree
	Line int
	What string
	// Forges is true for what defeats a census at run time: written
	// framing markers, an exit before any test can run, changed testing
	// flags. Code that only stops tests (a TestMain without m.Run) is
	// false: the tests it stops are missing from the run, which the census
	// sees without help.
	Forges bool
}

func (f Finding) String() string { return fmt.Sprintf("%s:%d: %s", f.File, f.Line, f.What) }

// frameworkMarkers are what go test's output and test2json read as a
// test's start and end: printed by the test binary itself they make
// tests that never ran look run. "\x16" is the byte test2json mode puts
// before real framing lines.
var frameworkMarkers = []string{"--- PASS", "--- FAIL", "--- SKIP", "=== RUN", "=== CONT", "=== PAUSE", "=== NAME", "ok  \t", `"Action"`, "\x16"}

// writeFuncs are the calls that put text on the test binary's stdout or
// stderr (fmt.Print*, fmt.Fprint*, os.Stdout.Write*, print, log's...).
var writeFuncs = map[string]bool{"Print": true, "Printf": true, "Println": true, "Fprint": true, "Fprintf": true,
	"Fprintln": true, "Write": true, "WriteString": true, "print": true, "println": true, "Output": true,
	"Fatal": true, "Fatalf": true, "Fatalln": true, "Panic": true, "Panicf": true}

// Scan reports, in one Go file of a tested package, code that can stop the
// package's tests from running or forge their results: a TestMain that
// never calls m.Run; os.Exit, syscall.Exit or runtime.Goexit in an init
// function, a package-level initializer, or a TestMain before m.Run;
// writes of go test's framing markers ("--- PASS", "=== RUN", "ok  \t",
// test2json's "Action" key, the ^V byte); changes to os.Args or to the
// test.* flags. In a non-test file only init functions and package-level
// initializers are read: the rest is the code under test, which may print
// anything. It is a heuristic over the source: code that builds the
// markers or the exit at run time (reflection, assembly, a byte at a
// time) is not seen. A file that does not parse yields nothing (the suite
// reports its build error).
func Scan(file string, src []byte) []Finding {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, file, src, parser.SkipObjectResolution)
	if err != nil {
		return nil
	}
	s := &scanner{fset: fset, file: file, test: strings.HasSuffix(file, "_test.go"), consts: map[string][]string{}}
	s.collectConsts(f)
	for _, d := range f.Decls {
		switch d := d.(type) {
		case *ast.FuncDecl:
			s.funcDecl(d)
		case *ast.GenDecl:
			for _, spec := range d.Specs {
				if vs, ok := spec.(*ast.ValueSpec); ok {
					for _, v := range vs.Values {
						s.body(v, scope{early: "a package-level initializer"})
					}
				}
			}
		}
	}
	return s.out
}

type scanner struct {
	fset   *token.FileSet
	file   string
	test   bool
	consts map[string][]string // package-level names -> the string literals of their values
	out    []Finding
}

func (s *scanner) add(pos token.Pos, forges bool, format string, args ...any) {
	s.out = append(s.out, Finding{File: s.file, Line: s.fset.Position(pos).Line, What: fmt.Sprintf(format, args...), Forges: forges})
}

// scope is where a body runs: early names a place that runs before any
// test (an init function, a package-level initializer); flags is true
// where a change of the testing flags still changes what runs.
type scope struct {
	early string
	flags bool
}

func (s *scanner) collectConsts(f *ast.File) {
	for _, d := range f.Decls {
		gd, ok := d.(*ast.GenDecl)
		if !ok {
			continue
		}
		for _, spec := range gd.Specs {
			vs, ok := spec.(*ast.ValueSpec)
			if !ok {
				continue
			}
			for i, n := range vs.Names {
				if i < len(vs.Values) {
					s.consts[n.Name] = literals(vs.Values[i])
				}
			}
		}
	}
}

func (s *scanner) funcDecl(fn *ast.FuncDecl) {
	switch {
	case fn.Body == nil:
	case fn.Recv == nil && fn.Name.Name == "init":
		s.body(fn.Body, scope{early: "an init function", flags: true})
	case fn.Recv == nil && s.test && fn.Name.Name == "TestMain" && isTestFunc(fn, "M"):
		s.testMain(fn)
	case s.test:
		s.body(fn.Body, scope{})
	}
}

// testMain reports a TestMain that never runs the tests, or exits first.
func (s *scanner) testMain(fn *ast.FuncDecl) {
	m := ""
	if names := fn.Type.Params.List[0].Names; len(names) == 1 {
		m = names[0].Name
	}
	firstRun := token.NoPos
	ast.Inspect(fn.Body, func(n ast.Node) bool {
		if c, ok := n.(*ast.CallExpr); ok && firstRun == token.NoPos {
			if sel, ok := c.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "Run" && isIdent(sel.X, m) {
				firstRun = c.Pos()
			}
		}
		return true
	})
	if firstRun == token.NoPos {
		s.add(fn.Pos(), false, "TestMain never calls %s.Run: no test of this package runs", orM(m))
	}
	s.inspect(fn.Body, func(c *ast.CallExpr) {
		if what := exitCall(c); what != "" && (firstRun == token.NoPos || c.End() <= firstRun) { // os.Exit(m.Run()) holds the run
			s.add(c.Pos(), false, "TestMain calls %s before %s.Run: the tests never run", what, orM(m))
		}
	})
	s.body(fn.Body, scope{flags: true})
}

func orM(m string) string {
	if m == "" || m == "_" {
		return "m"
	}
	return m
}

// body reads one function body or initializer in scope sc.
func (s *scanner) body(n ast.Node, sc scope) {
	if !s.test && sc.early == "" {
		return // the code under test may print anything
	}
	s.inspect(n, func(c *ast.CallExpr) {
		if what := exitCall(c); what != "" && sc.early != "" {
			s.add(c.Pos(), true, "%s calls %s: the test binary exits before any test runs", sc.early, what)
		}
		if writeFuncs[calleeName(c)] {
			for _, a := range c.Args {
				if m := s.marker(a); m != "" {
					s.add(c.Pos(), true, "writes go test's framing marker %q: output that makes tests look run", m)
					break
				}
			}
		}
		if sc.flags {
			s.flagChange(c)
		}
	})
	ast.Inspect(n, func(n ast.Node) bool {
		if as, ok := n.(*ast.AssignStmt); ok && sc.flags {
			for _, l := range as.Lhs {
				if osArgs(l) {
					s.add(as.Pos(), true, "assigns os.Args before the tests run: changes which tests the binary runs")
				}
			}
		}
		if lit, ok := n.(*ast.BasicLit); ok && strings.Contains(unquote(lit), "\x16") {
			s.add(lit.Pos(), true, "holds the ^V byte that marks go test's framing lines for test2json")
		}
		return true
	})
}

// inspect calls f on every call in n.
func (s *scanner) inspect(n ast.Node, f func(*ast.CallExpr)) {
	ast.Inspect(n, func(n ast.Node) bool {
		if c, ok := n.(*ast.CallExpr); ok {
			f(c)
		}
		return true
	})
}

// flagChange reports flag.Set("test.…") and flag.CommandLine.Set("test.…").
func (s *scanner) flagChange(c *ast.CallExpr) {
	if calleeName(c) != "Set" || len(c.Args) != 2 {
		return
	}
	for _, l := range literals(c.Args[0]) {
		if strings.HasPrefix(l, "test.") {
			s.add(c.Pos(), true, "sets the testing flag -%s: changes which tests the binary runs", l)
		}
	}
}

// marker returns the framework marker a write's argument holds, "" if none.
func (s *scanner) marker(arg ast.Expr) string {
	lits := literals(arg)
	ast.Inspect(arg, func(n ast.Node) bool {
		if id, ok := n.(*ast.Ident); ok {
			lits = append(lits, s.consts[id.Name]...)
		}
		_, isFunc := n.(*ast.FuncLit)
		return !isFunc
	})
	for _, l := range lits {
		for _, m := range frameworkMarkers {
			if strings.Contains(l, m) {
				return m
			}
		}
	}
	return ""
}

// literals returns the string and rune literals in n, unquoted, outside
// function literals.
func literals(n ast.Node) []string {
	var out []string
	ast.Inspect(n, func(n ast.Node) bool {
		switch x := n.(type) {
		case *ast.BasicLit:
			if x.Kind == token.STRING || x.Kind == token.CHAR {
				out = append(out, unquote(x))
			}
		case *ast.FuncLit:
			return false
		}
		return true
	})
	return out
}

func unquote(lit *ast.BasicLit) string {
	if lit.Kind == token.CHAR {
		if r, _, _, err := strconv.UnquoteChar(strings.Trim(lit.Value, "'"), '\''); err == nil {
			return string(r)
		}
		return lit.Value
	}
	if s, err := strconv.Unquote(lit.Value); err == nil {
		return s
	}
	return lit.Value
}

// exitCall names an exit of the process or of the main goroutine, "" for
// any other call.
func exitCall(c *ast.CallExpr) string {
	sel, ok := c.Fun.(*ast.SelectorExpr)
	if !ok {
		return ""
	}
	pkg, ok := sel.X.(*ast.Ident)
	if !ok {
		return ""
	}
	switch {
	case sel.Sel.Name == "Exit" && (pkg.Name == "os" || pkg.Name == "syscall" || pkg.Name == "unix"):
		return pkg.Name + ".Exit"
	case sel.Sel.Name == "Goexit" && pkg.Name == "runtime":
		return "runtime.Goexit"
	}
	return ""
}

func calleeName(c *ast.CallExpr) string {
	switch f := c.Fun.(type) {
	case *ast.Ident:
		return f.Name
	case *ast.SelectorExpr:
		return f.Sel.Name
	}
	return ""
}

func isIdent(e ast.Expr, name string) bool {
	id, ok := e.(*ast.Ident)
	return ok && name != "" && id.Name == name
}

// osArgs reports whether e is os.Args or an element of it.
func osArgs(e ast.Expr) bool {
	if ix, ok := e.(*ast.IndexExpr); ok {
		e = ix.X
	}
	sel, ok := e.(*ast.SelectorExpr)
	return ok && sel.Sel.Name == "Args" && isIdent(sel.X, "os")
}
