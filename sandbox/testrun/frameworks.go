package testrun

import (
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/factory-dev/factory"
)

// framework is how one test runner is narrowed: which of its flags take a
// separate value (so that value is not a path argument), which flags
// select tests by name (dropped when a name is given), and how a name
// is given.
type framework struct {
	kind      string          // "pytest", "vitest", "jest", "mocha", "node", "cargo"; "" for runners it does not know
	at        int             // index in argv of the runner's first own argument
	values    map[string]bool // flags with a separate value
	nameFlags []string        // flags (without dashes) that select by name
}

func flagSet(fs ...string) map[string]bool {
	m := map[string]bool{}
	for _, f := range fs {
		m[f] = true
	}
	return m
}

var (
	pytestValues = flagSet("k", "m", "p", "c", "o", "W", "r", "n", "tb", "maxfail", "rootdir", "basetemp", "deselect",
		"ignore", "ignore-glob", "confcutdir", "log-level", "durations", "import-mode", "junitxml", "junit-xml")
	vitestValues = flagSet("c", "config", "r", "root", "dir", "t", "testNamePattern", "reporter", "outputFile",
		"project", "pool", "environment", "shard", "exclude", "mode")
	jestValues = flagSet("c", "config", "t", "testNamePattern", "reporters", "outputFile", "selectProjects",
		"testPathPattern", "testPathIgnorePatterns", "maxWorkers", "w", "rootDir", "roots", "testMatch")
	mochaValues = flagSet("reporter", "R", "require", "r", "grep", "g", "fgrep", "f", "timeout", "t", "config",
		"spec", "ignore", "extension", "ui", "u", "reporter-option", "O")
	nodeValues = flagSet("test-reporter", "test-reporter-destination", "test-name-pattern", "test-skip-pattern",
		"import", "require", "r", "loader", "experimental-loader", "test-concurrency", "test-timeout")
)

// frameworkOf recognises the runner of a suite that is not go-json from
// its argv: pytest (also as `python -m pytest`), vitest, jest, mocha (by
// a program or argument of that base name, as node_modules/.bin/vitest or
// npx vitest), `node --test`, `cargo test`.
func frameworkOf(argv []string) framework {
	for i, a := range argv {
		base := filepath.Base(a)
		switch {
		case base == "pytest" || base == "py.test":
			if i == 0 || argv[i-1] == "-m" || !strings.HasPrefix(a, "-") {
				return framework{kind: "pytest", at: i + 1, values: pytestValues, nameFlags: []string{"k"}}
			}
		case base == "vitest":
			at := i + 1
			if at < len(argv) && argv[at] == "run" {
				at++
			}
			return framework{kind: "vitest", at: at, values: vitestValues, nameFlags: []string{"t", "testNamePattern"}}
		case base == "jest":
			return framework{kind: "jest", at: i + 1, values: jestValues, nameFlags: []string{"t", "testNamePattern"}}
		case base == "mocha" || base == "_mocha":
			return framework{kind: "mocha", at: i + 1, values: mochaValues, nameFlags: []string{"grep", "g", "fgrep", "f"}}
		}
		if i == 0 && base == "node" && slices.Contains(argv, "--test") {
			return framework{kind: "node", at: 1, values: nodeValues, nameFlags: []string{"test-name-pattern"}}
		}
		if i == 0 && base == "cargo" && len(argv) > 1 && argv[1] == "test" {
			return framework{kind: "cargo", at: 2}
		}
		if i == 0 && base != "npx" && base != "env" && !strings.Contains(base, "python") {
			break
		}
	}
	return framework{}
}

var (
	// Names a -k expression, a node id's test part and cargo filters may
	// hold: words, the separators of nested and parametrised names.
	pytestNameRe = regexp.MustCompile(`^[A-Za-z0-9_ .:\[\]-]+$`)
	cargoNameRe  = regexp.MustCompile(`^[A-Za-z0-9_:]+$`)
	crateRe      = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_-]*$`)
)

// checkName validates a test name for fw: never a flag, no control
// characters, within the characters the runner's selection reads.
func (fw framework) checkName(test string) error {
	bad := func(why, example string) error {
		return factory.Errorf(factory.EINVALID, "test %q %s: give a test name such as %s", test, why, example)
	}
	if strings.HasPrefix(test, "-") {
		return bad("must not begin with '-'", fw.example())
	}
	if len(test) > 500 || strings.ContainsFunc(test, func(r rune) bool { return r < ' ' || r == 0x7f }) {
		return bad("is too long or holds control characters", fw.example())
	}
	switch fw.kind {
	case "pytest":
		name := test
		if file, rest, ok := strings.Cut(test, "::"); ok {
			if err := trCheckPath(file, false); err != nil {
				return err
			}
			name = rest
		}
		if !pytestNameRe.MatchString(name) {
			return bad("has characters pytest's -k does not take", fw.example())
		}
	case "cargo":
		if !cargoNameRe.MatchString(test) {
			return bad("is not a Rust test path", fw.example())
		}
	default:
		if _, err := regexp.Compile(test); err != nil {
			return bad("is not a valid regular expression ("+err.Error()+")", fw.example())
		}
	}
	return nil
}

func (fw framework) example() string {
	switch fw.kind {
	case "pytest":
		return "test_take or tests/test_x.py::test_take"
	case "cargo":
		return "tests::balance_sums"
	}
	return `"adds cents" or ^add adds cents$`
}

// checkPackage validates the path (or, for cargo, crate) to narrow to.
func (fw framework) checkPackage(pkg string) error {
	if fw.kind == "cargo" && !strings.Contains(pkg, "/") {
		if !crateRe.MatchString(pkg) {
			return factory.Errorf(factory.EINVALID, "package %q is not a crate name: give a crate of the workspace such as ledger, or a test file such as tests/ledger.rs", pkg)
		}
		return nil
	}
	return trCheckPath(pkg, false)
}

// narrow returns argv narrowed to the path pkg (replacing the suite's own
// path arguments, never adding to them) and the test name test (replacing
// the suite's own name selection). exact anchors the name, for reruns of
// one test. Both were validated.
func (fw framework) narrow(argv []string, pkg, test string, exact bool) []string {
	if fw.kind == "cargo" {
		return cargoNarrow(argv, pkg, test, exact)
	}
	head := append([]string(nil), argv[:fw.at]...)
	var kept, tail []string
	rest := argv[fw.at:]
	for i := 0; i < len(rest); i++ {
		a := rest[i]
		if a == "--" {
			tail = rest[i:]
			break
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			if pkg == "" && !(fw.kind == "pytest" && test != "" && strings.Contains(test, "::")) {
				kept = append(kept, a)
			}
			continue
		}
		name, _, hasEq := strings.Cut(strings.TrimLeft(a, "-"), "=")
		sep := !hasEq && fw.values[name] && i+1 < len(rest)
		if test != "" && slices.Contains(fw.nameFlags, name) {
			if sep {
				i++
			}
			continue
		}
		kept = append(kept, a)
		if sep {
			i++
			kept = append(kept, rest[i])
		}
	}
	out := append(head, fw.selectName(test, exact)...)
	out = append(out, kept...)
	if fw.kind == "pytest" && strings.Contains(test, "::") {
		out = append(out, test) // a node id names its file itself
	} else if pkg != "" {
		out = append(out, path.Clean(pkg))
	}
	return append(out, tail...)
}

// selectName is the runner's selection of test (a pattern; exact anchors
// it to the whole name, given as the runner spells full names).
func (fw framework) selectName(test string, exact bool) []string {
	if test == "" {
		return nil
	}
	re := test
	if exact {
		re = "^" + regexp.QuoteMeta(test) + "$"
	}
	switch fw.kind {
	case "pytest":
		if strings.Contains(test, "::") {
			return nil
		}
		return []string{"-k", test}
	case "vitest", "jest":
		return []string{"-t", re}
	case "mocha":
		return []string{"--grep", re}
	case "node":
		return []string{"--test-name-pattern=" + re}
	}
	return nil
}

// cargoNarrow narrows `cargo test [opts] [filter] [-- args]`: a crate
// becomes -p (replacing -p, --package and --workspace), a test file
// tests/x.rs becomes --test x, a name the filter (replacing the suite's),
// with --exact after -- when exact.
func cargoNarrow(argv []string, pkg, test string, exact bool) []string {
	out := append([]string(nil), argv[:2]...)
	var tail []string
	rest := argv[2:]
	for i := 0; i < len(rest); i++ {
		a := rest[i]
		if a == "--" {
			tail = append([]string(nil), rest[i+1:]...)
			break
		}
		name, _, hasEq := strings.Cut(a, "=")
		switch {
		case pkg != "" && (name == "-p" || name == "--package" || name == "--test"):
			if !hasEq && i+1 < len(rest) {
				i++
			}
			continue
		case pkg != "" && (a == "--workspace" || a == "--all"):
			continue
		case !strings.HasPrefix(a, "-") && test != "" && (i == 0 || !cargoValueFlag(rest[i-1])):
			continue // the suite's own filter
		}
		out = append(out, a)
	}
	if pkg != "" {
		if f, ok := strings.CutPrefix(path.Clean(pkg), "tests/"); ok && strings.HasSuffix(f, ".rs") {
			out = append(out, "--test", strings.TrimSuffix(f, ".rs"))
		} else {
			out = append(out, "-p", pkg)
		}
	}
	if test != "" {
		out = append(out, test)
		if exact && !slices.Contains(tail, "--exact") {
			tail = append(tail, "--exact")
		}
	}
	if len(tail) > 0 {
		out = append(append(out, "--"), tail...)
	}
	return out
}

// cargoValueFlag reports a cargo flag whose value follows it.
func cargoValueFlag(a string) bool {
	switch a {
	case "-p", "--package", "--test", "--bench", "--bin", "--example", "--features", "-F", "--target",
		"--target-dir", "--profile", "-j", "--jobs", "--manifest-path", "--color", "--message-format", "--exclude":
		return true
	}
	return false
}

// noCache turns a runner's result cache off, so that a run (and a rerun
// deciding flakiness) is a run: pytest's cacheprovider (its --lf and
// --ff state, and its .pytest_cache writes).
func (fw framework) noCache(argv []string) []string {
	if fw.kind != "pytest" {
		return argv
	}
	for i, a := range argv {
		if a == "-p" && i+1 < len(argv) && argv[i+1] == "no:cacheprovider" || a == "-pno:cacheprovider" {
			return argv
		}
	}
	out := append([]string(nil), argv[:fw.at]...)
	out = append(out, "-p", "no:cacheprovider")
	return append(out, argv[fw.at:]...)
}

// selector is the name that selects the one test pkg/name (as the report
// parsed it) when given to narrow with exact, and false when this runner
// cannot select it alone: pytest by node id (the JUnit classname's module
// found as a file under dir), vitest and jest by their space-joined full
// name, node by the test's own name, mocha by its full title, cargo by its
// path.
func (fw framework) selector(dir, pkg, name string) (string, bool) {
	sel := name
	switch fw.kind {
	case "pytest":
		parts := strings.Split(pkg, ".")
		sel = ""
		for k := len(parts); k > 0; k-- {
			file := strings.Join(parts[:k], "/") + ".py"
			if st, err := os.Stat(filepath.Join(dir, file)); err == nil && st.Mode().IsRegular() {
				sel = strings.Join(append(append([]string{file}, parts[k:]...), name), "::")
				break
			}
		}
		if sel == "" {
			return "", false
		}
		return sel, fw.checkName(sel) == nil
	case "vitest", "jest":
		sel = strings.ReplaceAll(name, " > ", " ")
	case "node":
		if i := strings.LastIndex(name, " > "); i >= 0 {
			sel = name[i+3:]
		}
	case "cargo":
		return sel, fw.checkName(sel) == nil
	case "":
		return "", false
	}
	return sel, sel != "" && !strings.ContainsFunc(sel, func(r rune) bool { return r < ' ' })
}
