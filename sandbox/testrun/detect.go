package testrun

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/factory-dev/factory"
)

// Where detected JUnit suites write their reports, relative to the root.
// Runner.Run makes the directory.
const (
	junitNode   = ".factory/junit-node.xml"
	junitPython = ".factory/junit-python.xml"
	junitVitest = ".factory/junit-vitest.xml"
)

const detectedTimeout = 10 * time.Minute

// DetectSuites looks at the files at root and proposes a test suite per
// language it recognises, for `factory init` to write into factory.yaml:
//
//   - Go (go.mod): go test -json -trimpath ./..., format go-json. The
//     -trimpath lets runs in isolated copies (at a new path each time)
//     reuse Go's build cache; a suite whose tests find files through
//     runtime.Caller's absolute paths should drop it.
//   - Node (package.json with a test script): a script that is plain
//     `node --test [args]` runs node directly with its JUnit reporter; a
//     vitest script runs vitest with its JUnit reporter; a tap or tape
//     script runs `npm test --silent` read as TAP; anything else runs
//     `npm test`, judged by its exit code. npm's placeholder script ("no
//     test specified") is no test script.
//   - Python (pytest.ini, conftest.py, a [tool.pytest...] table in
//     pyproject.toml, [tool:pytest] in setup.cfg, [pytest] in tox.ini, or
//     pytest named in pyproject.toml): python3 -m pytest with --junitxml.
//   - Rust (Cargo.toml): cargo nextest with its JUnit output when
//     .config/nextest.toml configures junit for the default profile,
//     otherwise cargo test, judged by its exit code.
//
// It reads a few small files and never fails: what it cannot read it does
// not propose. The order is Go, Node, Python, Rust.
func DetectSuites(root string) []factory.Suite {
	var out []factory.Suite
	has := func(name string) bool {
		_, err := os.Stat(filepath.Join(root, name))
		return err == nil
	}
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(root, name))
		if err != nil || len(b) > 1<<20 {
			return ""
		}
		return string(b)
	}

	if has("go.mod") {
		// -trimpath keeps the build cache valid across isolated copies,
		// whose paths differ from run to run; without it every run
		// recompiles the module's packages.
		out = append(out, factory.Suite{Name: "go", Run: []string{"go", "test", "-json", "-trimpath", "./..."},
			Format: factory.FormatGoJSON, Timeout: detectedTimeout})
	}
	if s, ok := detectNode(read("package.json")); ok {
		out = append(out, s)
	}
	if detectPytest(has, read) {
		out = append(out, factory.Suite{Name: "python",
			Run:    []string{"python3", "-m", "pytest", "-q", "--junitxml=" + junitPython},
			Format: factory.FormatJUnit, JUnitPath: junitPython, Timeout: detectedTimeout})
	}
	if has("Cargo.toml") {
		if p, ok := nextestJUnit(read(".config/nextest.toml")); ok {
			out = append(out, factory.Suite{Name: "rust", Run: []string{"cargo", "nextest", "run", "--no-fail-fast"},
				Format: factory.FormatJUnit, JUnitPath: p, Timeout: detectedTimeout})
		} else {
			out = append(out, factory.Suite{Name: "rust", Run: []string{"cargo", "test"},
				Format: factory.FormatExitCode, Timeout: detectedTimeout})
		}
	}
	return out
}

// shellMeta marks a script that needs a shell: it is not split into argv.
var shellMeta = regexp.MustCompile("[|&;<>()$`\\\\\"'*?{}\\[\\]~#]")

func detectNode(pkgJSON string) (factory.Suite, bool) {
	if pkgJSON == "" {
		return factory.Suite{}, false
	}
	var p struct {
		Scripts map[string]string `json:"scripts"`
	}
	if json.Unmarshal([]byte(pkgJSON), &p) != nil {
		return factory.Suite{}, false
	}
	script := strings.TrimSpace(p.Scripts["test"])
	if script == "" || strings.Contains(script, "no test specified") {
		return factory.Suite{}, false
	}
	s := factory.Suite{Name: "node", Timeout: detectedTimeout}
	fields := strings.Fields(script)
	switch {
	case len(fields) >= 2 && fields[0] == "node" && fields[1] == "--test" && !shellMeta.MatchString(script):
		s.Run = append([]string{"node", "--test", "--test-reporter=junit", "--test-reporter-destination=" + junitNode}, fields[2:]...)
		s.Format, s.JUnitPath = factory.FormatJUnit, junitNode
	case fields[0] == "vitest" && !shellMeta.MatchString(script):
		args := fields[1:]
		if len(args) > 0 && args[0] == "run" {
			args = args[1:]
		}
		s.Run = append([]string{"npx", "--no-install", "vitest", "run", "--reporter=junit", "--outputFile=" + junitVitest}, args...)
		s.Format, s.JUnitPath = factory.FormatJUnit, junitVitest
	case fields[0] == "tap" || fields[0] == "tape" || strings.Contains(script, "--reporter=tap") || strings.Contains(script, "--reporter tap"):
		s.Run = []string{"npm", "test", "--silent"}
		s.Format = factory.FormatTAP
	default:
		s.Run = []string{"npm", "test"}
		s.Format = factory.FormatExitCode
	}
	return s, true
}

var pytestDepRe = regexp.MustCompile(`["']pytest\b`)

func detectPytest(has func(string) bool, read func(string) string) bool {
	if has("pytest.ini") || has("conftest.py") {
		return true
	}
	if py := read("pyproject.toml"); strings.Contains(py, "[tool.pytest") || pytestDepRe.MatchString(py) {
		return true
	}
	return strings.Contains(read("setup.cfg"), "[tool:pytest]") || strings.Contains(read("tox.ini"), "[pytest]")
}

var nextestJUnitPathRe = regexp.MustCompile(`(?m)^\s*path\s*=\s*"([^"]+)"`)

// nextestJUnit returns where cargo nextest writes the default profile's
// JUnit report (target/nextest/default/<path>) when nextest.toml has a
// [profile.default.junit] table with a path.
func nextestJUnit(toml string) (string, bool) {
	i := strings.Index(toml, "[profile.default.junit]")
	if i < 0 {
		return "", false
	}
	rest := toml[i+len("[profile.default.junit]"):]
	if j := strings.Index(rest, "\n["); j >= 0 {
		rest = rest[:j]
	}
	m := nextestJUnitPathRe.FindStringSubmatch(rest)
	if m == nil || trCheckPath(m[1], false) != nil {
		return "", false
	}
	return "target/nextest/default/" + m[1], true
}
