package testrun

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"github.com/factory-dev/factory"
)

// SuiteCheck is doctor's verdict on one suite of factory.yaml.
type SuiteCheck struct {
	Suite  string
	OK     bool
	Detail string
	Fix    string // what to do when not OK
}

// CheckSuites says, for each suite, whether its command exists in the
// workspace at root as a run in a copy will see it (a relative program
// such as node_modules/.bin/vitest or .venv/bin/python inside root, whose
// ignored dependency directories every copy shows; else on PATH), whether
// a Python suite's interpreter imports pytest, whether make has the target,
// and whether the report it is read by will be written: a JUnit suite's
// command (or its environment) must name its junit_path, as the detected
// ones do. It runs nothing but a Python interpreter asked to import
// pytest.
func CheckSuites(root string, suites []factory.Suite) []SuiteCheck {
	var out []SuiteCheck
	for _, s := range suites {
		c := SuiteCheck{Suite: s.Name, OK: true, Detail: "suite " + s.Name + ": " + strings.Join(s.Run, " ")}
		fail := func(detail, fix string) {
			if c.OK {
				c.OK, c.Detail, c.Fix = false, "suite "+s.Name+": "+detail, fix
			}
		}
		if err := checkSuite(s); err != nil {
			fail(factory.ErrorMessage(err), "correct the suite in factory.yaml")
			out = append(out, c)
			continue
		}
		prog := s.Run[0]
		switch {
		case strings.Contains(prog, "/") && !filepath.IsAbs(prog):
			if st, err := os.Stat(filepath.Join(root, prog)); err != nil || st.IsDir() {
				fail(prog+" does not exist in the workspace", installFix(prog))
			}
		default:
			if _, err := exec.LookPath(prog); err != nil {
				fail(prog+" is not installed (not on PATH)", "install "+prog+", or change the suite's run command in factory.yaml")
			}
		}
		if c.OK && len(s.Run) >= 3 && s.Run[1] == "-m" && s.Run[2] == "pytest" {
			py := prog
			if !filepath.IsAbs(py) && strings.Contains(py, "/") {
				py = filepath.Join(root, py)
			}
			if !probe(py, "-c", "import pytest") {
				fail(prog+" cannot import pytest", "install pytest for it (apt-get install python3-pytest, or .venv/bin/pip install pytest), or run `factory init --force` to pick an interpreter that has it")
			}
		}
		if c.OK && filepath.Base(prog) == "make" {
			target := "test"
			if i := slices.IndexFunc(s.Run[1:], func(a string) bool { return !strings.HasPrefix(a, "-") }); i >= 0 {
				target = s.Run[1+i]
			}
			mk := readSmall(root, "Makefile") + readSmall(root, "makefile") + readSmall(root, "GNUmakefile")
			if !makeTarget(mk, target) {
				fail(fmt.Sprintf("no Makefile with a %q target at the root", target), "add the target, or give the suite the command that runs the tests")
			}
		}
		if c.OK && s.Format == factory.FormatJUnit && !namesReport(s) {
			fail("the command does not name its junit_path "+s.JUnitPath+": the report may never be written there",
				"pass the path to the runner (--junitxml=, --outputFile=, --test-reporter-destination=, JEST_JUNIT_OUTPUT_FILE) or correct junit_path")
		}
		out = append(out, c)
	}
	return out
}

// namesReport reports whether a JUnit suite's argv or environment holds
// its junit_path; nextest's comes from its own configuration.
func namesReport(s factory.Suite) bool {
	if slices.Contains(s.Run, "nextest") {
		return true
	}
	for _, a := range s.Run {
		if strings.Contains(a, s.JUnitPath) {
			return true
		}
	}
	for _, v := range s.Env {
		if strings.Contains(v, s.JUnitPath) {
			return true
		}
	}
	return false
}

func installFix(prog string) string {
	switch {
	case strings.HasPrefix(prog, "node_modules/"):
		return "run `npm ci` (or your package manager's install) in the workspace"
	case strings.HasPrefix(prog, ".venv/") || strings.HasPrefix(prog, "venv/"):
		return "create the virtual environment: python3 -m venv " + strings.SplitN(prog, "/", 2)[0] + " and install the test dependencies into it"
	}
	return "install it, or change the suite's run command in factory.yaml"
}

func readSmall(root, name string) string {
	b, err := os.ReadFile(filepath.Join(root, name))
	if err != nil || len(b) > 1<<20 {
		return ""
	}
	return string(b)
}
