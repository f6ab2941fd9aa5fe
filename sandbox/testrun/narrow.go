package testrun

import (
	"path"
	"regexp"
	"strings"

	"github.com/factory-dev/factory"
	"github.com/factory-dev/factory/internal/gocensus"
)

var trRelPathRe = regexp.MustCompile(`^[A-Za-z0-9_.@+/-]+$`)

// NarrowArgv returns the suite's argv narrowed to pkg and test, which come
// from the model and are validated here. Both may be empty.
//
// For go-json suites, test becomes `-run test` (it must compile as a Go
// regular expression and not begin with '-'; an existing -run is replaced)
// and pkg replaces the suite's package patterns (./..., ./x) (it must be a
// relative path "./x", "./x/...", "." or "./...", with no ".." and no
// leading '-').
//
// For the runners it recognises (frameworkOf: pytest, vitest, jest, mocha,
// node --test, cargo test), pkg replaces the suite's own path arguments
// (cargo: a crate becomes -p, tests/x.rs becomes --test x) and test
// replaces its name selection: pytest -k (or a node id path::name, which
// replaces the paths), vitest and jest -t, mocha --grep, node
// --test-name-pattern, cargo's filter. For other commands pkg is appended
// as a path and test is refused, as they share no way to select a test
// by name.
//
// Errors: EINVALID, saying what to send instead. NarrowArgv never changes
// s.Run.
func NarrowArgv(s factory.Suite, pkg, test string) ([]string, error) {
	if len(s.Run) == 0 {
		return nil, factory.Errorf(factory.EINVALID, "suite %q has no run command in factory.yaml", s.Name)
	}
	argv := append([]string(nil), s.Run...)
	if pkg == "" && test == "" {
		return argv, nil
	}
	if s.Format == factory.FormatGoJSON {
		return goNarrowChecked(argv, pkg, test)
	}
	fw := frameworkOf(argv)
	if fw.kind == "" {
		if test != "" {
			return nil, factory.Errorf(factory.EINVALID, "suite %q (%s) is no runner factory knows how to select a test of by name; narrow it with a path (package) instead", s.Name, argv[0])
		}
		if err := trCheckPath(pkg, false); err != nil {
			return nil, err
		}
		return append(argv, path.Clean(pkg)), nil
	}
	if pkg != "" {
		if err := fw.checkPackage(pkg); err != nil {
			return nil, err
		}
	}
	if test != "" {
		if err := fw.checkName(test); err != nil {
			return nil, err
		}
	}
	return fw.narrow(argv, pkg, test, false), nil
}

func goNarrowChecked(argv []string, pkg, test string) ([]string, error) {
	if pkg != "" {
		if err := trCheckPath(pkg, true); err != nil {
			return nil, err
		}
	}
	if test != "" {
		if strings.HasPrefix(test, "-") {
			return nil, factory.Errorf(factory.EINVALID, "test pattern %q must not begin with '-': give a test name or a regular expression such as ^TestName$", test)
		}
		if _, err := regexp.Compile(test); err != nil {
			return nil, factory.Errorf(factory.EINVALID, "test pattern %q is not a valid Go regular expression (%v): give a test name or a regular expression such as ^TestName$", test, err)
		}
	}
	if pkg != "" && !strings.HasPrefix(pkg, ".") {
		pkg = "./" + pkg
	}
	return trGoNarrow(argv, pkg, test), nil
}

// trCheckPath accepts a clean relative path inside the root; goPattern
// also accepts a trailing "/...".
func trCheckPath(p string, goPattern bool) error {
	bad := func(why string) error {
		return factory.Errorf(factory.EINVALID, "package path %q %s: give a path relative to the workspace root such as ./internal/store%s", p, why, map[bool]string{true: " or ./internal/...", false: ""}[goPattern])
	}
	if strings.HasPrefix(p, "-") {
		return bad("must not begin with '-'")
	}
	if strings.HasPrefix(p, "/") || strings.HasPrefix(p, "~") {
		return bad("must be relative")
	}
	if !trRelPathRe.MatchString(p) {
		return bad("has characters other than letters, digits, and _ . @ + / -")
	}
	q := p
	if goPattern {
		q = strings.TrimSuffix(strings.TrimSuffix(q, "/..."), "...")
	}
	for _, part := range strings.Split(q, "/") {
		if part == ".." {
			return bad("must stay inside the workspace (no ..)")
		}
		if strings.Contains(part, "...") {
			return bad("may use ... only at its end")
		}
	}
	return nil
}

// trGoNarrow puts `-run test` right after the `test` subcommand (dropping any
// -run of the suite) and replaces the package patterns with pkg (appending
// it when the suite names none). Arguments after -args are left alone.
func trGoNarrow(argv []string, pkg, test string) []string {
	testAt := -1
	for i, a := range argv {
		if a == "test" {
			testAt = i
			break
		}
	}
	var out []string
	replaced := false
	for i := 0; i < len(argv); i++ {
		a := argv[i]
		if i <= testAt {
			out = append(out, a)
			if i == testAt && test != "" {
				out = append(out, "-run", test)
			}
			continue
		}
		if a == "-args" || a == "--args" {
			if pkg != "" && !replaced {
				out = append(out, pkg)
				replaced = true
			}
			out = append(out, argv[i:]...)
			break
		}
		if strings.HasPrefix(a, "-") {
			name := strings.TrimLeft(a, "-")
			hasValue := !strings.Contains(name, "=") && gocensus.ValueFlags[name]
			if test != "" && (name == "run" || strings.HasPrefix(name, "run=")) {
				if hasValue {
					i++
				}
				continue
			}
			out = append(out, a)
			if hasValue && i+1 < len(argv) {
				i++
				out = append(out, argv[i])
			}
			continue
		}
		if pkg != "" && testAt >= 0 {
			// A package pattern of the suite: the first becomes pkg, the
			// others go.
			if !replaced {
				out = append(out, pkg)
				replaced = true
			}
			continue
		}
		out = append(out, a)
	}
	if pkg != "" && !replaced {
		out = append(out, pkg)
	}
	if testAt < 0 && test != "" {
		out = append(out, "-run", test)
	}
	return out
}

// trRunPattern anchors each level of a (sub)test name for -run:
// "TestT/case 1" becomes "^TestT$/^case 1$".
func trRunPattern(name string) string {
	parts := strings.Split(name, "/")
	for i, p := range parts {
		parts[i] = "^" + regexp.QuoteMeta(p) + "$"
	}
	return strings.Join(parts, "/")
}
