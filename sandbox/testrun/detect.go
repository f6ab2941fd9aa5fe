package testrun

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/factory-dev/factory"
	"github.com/factory-dev/factory/sandbox/proc"
)

// Where detected suites write their reports, relative to the root.
// Runner.Run makes the directory.
const (
	junitNode   = ".factory/junit-node.xml"
	junitPython = ".factory/junit-python.xml"
	junitVitest = ".factory/junit-vitest.xml"
	junitJest   = ".factory/junit-jest.xml"
)

const detectedTimeout = 10 * time.Minute

// DetectSuites looks at the files at root and proposes a test suite per
// language it recognises, for `factory init` to write into factory.yaml.
// Every proposed command runs offline in the sandbox, from what the
// project installed itself (its node_modules, its .venv), and writes a
// report per test:
//
//   - Go (go.mod): go test -json -trimpath ./..., format go-json. The
//     -trimpath lets runs in isolated copies (at a new path each time)
//     reuse Go's build cache; a suite whose tests find files through
//     runtime.Caller's absolute paths should drop it.
//   - Node (package.json): see detectNode: vitest, jest, mocha or
//     node --test from the project's own node_modules/.bin, else npm's
//     test script by exit code.
//   - Python (pytest.ini, conftest.py, pytest in pyproject.toml,
//     [tool:pytest] in setup.cfg, pytest in tox.ini, or a tests directory
//     of test_*.py files): Python(root) -m pytest with -p no:cacheprovider
//     and --junitxml.
//   - Rust (Cargo.toml): cargo nextest with its JUnit output when
//     .config/nextest.toml configures junit for the default profile,
//     otherwise cargo test --offline --no-fail-fast, whose per-test lines
//     report.Build reads from the exit-code suite's log.
//   - make (a Makefile with a test target), only when nothing above was
//     found: make test, by exit code.
//
// It reads a few small files, runs the candidate Python interpreters
// (unconfined, import pytest, a few seconds at most) and never fails: what
// it cannot read it does not propose. The order is Go, Node, Python, Rust.
func DetectSuites(root string) []factory.Suite { return (*Detector)(nil).Suites(root) }

// Detector proposes suites as DetectSuites does, for a caller that asks
// again and again (the server, on each test_run of a workspace without a
// factory.yaml): it keeps each probe's answer for probeTTL while the
// program probed is the same file, so that a test_run does not spend half
// a second asking every python3 on PATH whether it imports pytest. A nil
// *Detector remembers nothing. Safe for concurrent use.
type Detector struct {
	mu     sync.Mutex
	probes map[string]probeMemo // by argv
}

// probeMemo is one probe's answer and the program file it ran.
type probeMemo struct {
	prog os.FileInfo
	at   time.Time
	ok   bool
}

// probeTTL bounds how long an answer is kept: installing pytest changes
// what python3 answers without changing python3 itself.
const probeTTL = 2 * time.Minute

// probe is the package's probe, remembered (see Detector).
func (d *Detector) probe(argv ...string) bool {
	if d == nil {
		return probe(argv...)
	}
	path, err := exec.LookPath(argv[0])
	if err != nil {
		return false
	}
	st, err := os.Stat(path)
	if err != nil {
		return probe(argv...)
	}
	key := strings.Join(argv, "\x00")
	d.mu.Lock()
	m, ok := d.probes[key]
	d.mu.Unlock()
	if ok && time.Since(m.at) < probeTTL && os.SameFile(m.prog, st) && m.prog.ModTime().Equal(st.ModTime()) && m.prog.Size() == st.Size() {
		return m.ok
	}
	res := probe(argv...)
	d.mu.Lock()
	if d.probes == nil {
		d.probes = map[string]probeMemo{}
	}
	d.probes[key] = probeMemo{prog: st, at: time.Now(), ok: res}
	d.mu.Unlock()
	return res
}

// Suites is DetectSuites with d's memory of probes.
func (d *Detector) Suites(root string) []factory.Suite {
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
	if s, ok := detectNode(read("package.json"), has); ok {
		out = append(out, s)
	}
	if detectPytest(root, has, read) {
		out = append(out, factory.Suite{Name: "python",
			Run:    []string{d.python(root), "-m", "pytest", "-q", "-p", "no:cacheprovider", "--junitxml=" + junitPython},
			Format: factory.FormatJUnit, JUnitPath: junitPython, Timeout: detectedTimeout})
	}
	if has("Cargo.toml") {
		if p, ok := nextestJUnit(read(".config/nextest.toml")); ok && d.probe("cargo", "nextest", "--version") {
			out = append(out, factory.Suite{Name: "rust", Run: []string{"cargo", "nextest", "run", "--no-fail-fast"},
				Format: factory.FormatJUnit, JUnitPath: p, Timeout: detectedTimeout})
		} else {
			out = append(out, factory.Suite{Name: "rust", Run: []string{"cargo", "test", "--offline", "--no-fail-fast"},
				Format: factory.FormatExitCode, Timeout: detectedTimeout})
		}
	}
	if len(out) == 0 && makeTarget(read("Makefile")+read("makefile")+read("GNUmakefile"), "test") {
		out = append(out, factory.Suite{Name: "make", Run: []string{"make", "test"}, Format: factory.FormatExitCode, Timeout: detectedTimeout})
	}
	return out
}

// makeTarget reports whether a makefile defines target.
func makeTarget(mk, target string) bool {
	re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(target) + `\s*:([^=]|$)`)
	return re.MatchString(mk)
}

// shellMeta marks a script that needs a shell: it is not split into argv.
var shellMeta = regexp.MustCompile("[|&;<>()$`\\\\\"'*?{}\\[\\]~#]")

// packageJSON is what detection reads of package.json.
type packageJSON struct {
	Scripts         map[string]string `json:"scripts"`
	DevDependencies map[string]string `json:"devDependencies"`
	Dependencies    map[string]string `json:"dependencies"`
}

func (p packageJSON) dep(name string) bool {
	_, dev := p.DevDependencies[name]
	_, dep := p.Dependencies[name]
	return dev || dep
}

// detectNode proposes the suite of a package.json. The runner comes from
// the test script, else from a config file or a dependency (vitest,
// jest, mocha), and runs as the project's own node_modules/.bin binary:
// npx would reach for the network when it is missing. vitest writes
// JUnit, jest JUnit through jest-junit when the project has it, mocha
// TAP, node --test JUnit; a script that is none of those (or needs a
// shell) runs as `npm test`, judged by its exit code (TAP for tap and
// tape). npm's placeholder script ("no test specified") is no test script.
func detectNode(pkgJSON string, has func(string) bool) (factory.Suite, bool) {
	if pkgJSON == "" {
		return factory.Suite{}, false
	}
	var p packageJSON
	if json.Unmarshal([]byte(pkgJSON), &p) != nil {
		return factory.Suite{}, false
	}
	script := strings.TrimSpace(p.Scripts["test"])
	if strings.Contains(script, "no test specified") {
		script = ""
	}
	fields := strings.Fields(script)
	plain := len(fields) > 0 && !shellMeta.MatchString(script)
	first := ""
	if plain {
		first = fields[0]
	}
	hasConfig := func(tool string) bool {
		for _, ext := range []string{"ts", "mts", "cts", "js", "mjs", "cjs", "json"} {
			if has(tool + ".config." + ext) {
				return true
			}
		}
		return false
	}
	s := factory.Suite{Name: "node", Timeout: detectedTimeout}
	switch {
	case plain && first == "node" && len(fields) >= 2 && fields[1] == "--test":
		s.Run = append([]string{"node", "--test", "--test-reporter=junit", "--test-reporter-destination=" + junitNode}, fields[2:]...)
		s.Format, s.JUnitPath = factory.FormatJUnit, junitNode
	case first == "vitest" || script == "" && (hasConfig("vitest") || p.dep("vitest")):
		args := []string(nil)
		if first == "vitest" {
			args = fields[1:]
		}
		if len(args) > 0 && args[0] == "run" {
			args = args[1:]
		}
		s.Run = append([]string{"node_modules/.bin/vitest", "run", "--reporter=junit", "--outputFile=" + junitVitest}, args...)
		s.Format, s.JUnitPath = factory.FormatJUnit, junitVitest
	case (first == "jest" || script == "" && (hasConfig("jest") || p.dep("jest"))) && p.dep("jest-junit"):
		s.Run = []string{"node_modules/.bin/jest", "--ci", "--reporters=jest-junit"}
		if first == "jest" {
			s.Run = append(s.Run, fields[1:]...)
		}
		s.Env = map[string]string{"JEST_JUNIT_OUTPUT_FILE": junitJest}
		s.Format, s.JUnitPath = factory.FormatJUnit, junitJest
	case first == "mocha" || script == "" && p.dep("mocha"):
		s.Run = []string{"node_modules/.bin/mocha", "--reporter=tap"}
		if first == "mocha" {
			s.Run = append(s.Run, fields[1:]...)
		}
		s.Format = factory.FormatTAP
	case script == "":
		return factory.Suite{}, false
	case fields[0] == "tap" || fields[0] == "tape" || strings.Contains(script, "--reporter=tap") || strings.Contains(script, "--reporter tap"):
		s.Run = []string{"npm", "test", "--silent"}
		s.Format = factory.FormatTAP
	default:
		s.Run = []string{"npm", "test"}
		s.Format = factory.FormatExitCode
	}
	return s, true
}

var (
	pytestDepRe = regexp.MustCompile(`["']pytest\b`)
	pytestCmdRe = regexp.MustCompile(`\b(py\.test|pytest)\b`)
)

func detectPytest(root string, has func(string) bool, read func(string) string) bool {
	if has("pytest.ini") || has("conftest.py") {
		return true
	}
	if py := read("pyproject.toml"); strings.Contains(py, "[tool.pytest") || pytestDepRe.MatchString(py) {
		return true
	}
	if strings.Contains(read("setup.cfg"), "[tool:pytest]") || pytestCmdRe.MatchString(read("tox.ini")) {
		return true
	}
	for _, pat := range []string{"tests/test_*.py", "tests/*_test.py", "test/test_*.py"} {
		if m, _ := filepath.Glob(filepath.Join(root, pat)); len(m) > 0 {
			return true
		}
	}
	return false
}

// Python returns the interpreter a pytest suite of root should run: the
// project's own virtual environment (.venv, then venv) as a path relative
// to the root, which every copy shows (liveDeps); else the first of the
// python3 programs on PATH, then /usr/bin/python3, that can import pytest
// (several coexist on many machines: pyenv's shim without pytest, the
// distribution's with python3-pytest), as an absolute path; else python3.
func Python(root string) string { return (*Detector)(nil).python(root) }

func (d *Detector) python(root string) string {
	for _, v := range []string{".venv", "venv"} {
		rel := filepath.Join(v, "bin", "python")
		if st, err := os.Stat(filepath.Join(root, rel)); err == nil && !st.IsDir() {
			return rel
		}
	}
	var cands []string
	for _, d := range filepath.SplitList(os.Getenv("PATH")) {
		if filepath.IsAbs(d) {
			cands = append(cands, filepath.Join(d, "python3"))
		}
	}
	cands = append(cands, "/usr/bin/python3")
	seen := map[string]bool{}
	for _, c := range cands {
		st, err := os.Stat(c)
		if err != nil || st.IsDir() || st.Mode()&0o111 == 0 || seen[c] {
			continue
		}
		seen[c] = true
		if d.probe(c, "-c", "import pytest") {
			return c
		}
	}
	return "python3"
}

// probe runs a short command unconfined and reports whether it exited 0.
func probe(argv ...string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := proc.Run(ctx, proc.Cmd{Argv: argv, Dir: os.TempDir(), Timeout: 10 * time.Second, MaxOutput: 4096})
	return err == nil && res.ExitCode == 0
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
