package testrun_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/factory-dev/factory"
	"github.com/factory-dev/factory/sandbox/testrun"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDetectSuites(t *testing.T) {
	const tm = 10 * time.Minute
	goSuite := factory.Suite{Name: "go", Run: []string{"go", "test", "-json", "-trimpath", "./..."}, Format: factory.FormatGoJSON, Timeout: tm}
	for _, tc := range []struct {
		name  string
		files map[string]string
		want  []factory.Suite
	}{
		{"empty", nil, nil},
		{"go", map[string]string{"go.mod": "module x\n"}, []factory.Suite{goSuite}},
		{"node --test", map[string]string{"package.json": `{"scripts":{"test":"node --test test/"}}`},
			[]factory.Suite{{Name: "node", Run: []string{"node", "--test", "--test-reporter=junit", "--test-reporter-destination=.factory/junit-node.xml", "test/"},
				Format: factory.FormatJUnit, JUnitPath: ".factory/junit-node.xml", Timeout: tm}}},
		{"node --test through a shell", map[string]string{"package.json": `{"scripts":{"test":"node --test test/*.js && eslint ."}}`},
			[]factory.Suite{{Name: "node", Run: []string{"npm", "test"}, Format: factory.FormatExitCode, Timeout: tm}}},
		{"vitest", map[string]string{"package.json": `{"scripts":{"test":"vitest run src"}}`},
			[]factory.Suite{vitestSuite(tm, "src")}},
		{"vitest config, no script", map[string]string{"package.json": `{"devDependencies":{"vitest":"^3"}}`, "vitest.config.ts": ""},
			[]factory.Suite{vitestSuite(tm)}},
		{"jest with jest-junit", map[string]string{"package.json": `{"scripts":{"test":"jest src"},"devDependencies":{"jest":"^29","jest-junit":"^16"}}`},
			[]factory.Suite{{Name: "node", Run: []string{"node_modules/.bin/jest", "--ci", "--reporters=jest-junit", "src"}, Env: map[string]string{"JEST_JUNIT_OUTPUT_FILE": ".factory/junit-jest.xml"},
				Format: factory.FormatJUnit, JUnitPath: ".factory/junit-jest.xml", Timeout: tm}}},
		{"mocha", map[string]string{"package.json": `{"scripts":{"test":"mocha test/"}}`},
			[]factory.Suite{{Name: "node", Run: []string{"node_modules/.bin/mocha", "--reporter=tap", "test/"}, Format: factory.FormatTAP, Timeout: tm}}},
		{"tape", map[string]string{"package.json": `{"scripts":{"test":"tape test/*.js"}}`},
			[]factory.Suite{{Name: "node", Run: []string{"npm", "test", "--silent"}, Format: factory.FormatTAP, Timeout: tm}}},
		{"jest", map[string]string{"package.json": `{"scripts":{"test":"jest"}}`},
			[]factory.Suite{{Name: "node", Run: []string{"npm", "test"}, Format: factory.FormatExitCode, Timeout: tm}}},
		{"npm placeholder", map[string]string{"package.json": `{"scripts":{"test":"echo \"Error: no test specified\" && exit 1"}}`}, nil},
		{"package.json without test", map[string]string{"package.json": `{"scripts":{"build":"tsc"}}`}, nil},
		{"broken package.json", map[string]string{"package.json": `{"scripts":`}, nil},
		{"pytest.ini", map[string]string{"pytest.ini": "[pytest]\n"}, []factory.Suite{pySuite(tm)}},
		{"pyproject table", map[string]string{"pyproject.toml": "[tool.pytest.ini_options]\naddopts = \"-q\"\n"}, []factory.Suite{pySuite(tm)}},
		{"pyproject dependency", map[string]string{"pyproject.toml": "[project.optional-dependencies]\ntest = [\"pytest>=8\"]\n"}, []factory.Suite{pySuite(tm)}},
		{"setup.cfg", map[string]string{"setup.cfg": "[tool:pytest]\ntestpaths = tests\n"}, []factory.Suite{pySuite(tm)}},
		{"tox.ini", map[string]string{"tox.ini": "[pytest]\n"}, []factory.Suite{pySuite(tm)}},
		{"tox.ini commands", map[string]string{"tox.ini": "[testenv]\ncommands = py.test {posargs}\n"}, []factory.Suite{pySuite(tm)}},
		{"tests directory", map[string]string{"tests/test_x.py": "def test_x(): pass\n"}, []factory.Suite{pySuite(tm)}},
		{"Makefile with a test target", map[string]string{"Makefile": "all:\n\ttrue\ntest: all\n\t./run\n"},
			[]factory.Suite{{Name: "make", Run: []string{"make", "test"}, Format: factory.FormatExitCode, Timeout: tm}}},
		{"Makefile without a test target", map[string]string{"Makefile": "all:\n\ttrue\ntest_x = 1\n"}, nil},
		{"pyproject without pytest", map[string]string{"pyproject.toml": "[project]\nname = \"x\"\n"}, nil},
		{"cargo", map[string]string{"Cargo.toml": "[package]\nname = \"x\"\n"},
			[]factory.Suite{cargoSuite(tm)}},
		{"nextest junit path escaping", map[string]string{"Cargo.toml": "[package]\n", ".config/nextest.toml": "[profile.default.junit]\npath = \"../../x.xml\"\n"},
			[]factory.Suite{cargoSuite(tm)}},
		{"polyglot", map[string]string{"go.mod": "module x\n", "conftest.py": ""}, []factory.Suite{goSuite, pySuite(tm)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, body := range tc.files {
				p := filepath.Join(dir, name)
				require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
				require.NoError(t, os.WriteFile(p, []byte(body), 0o644))
			}
			want := tc.want
			for i := range want {
				if want[i].Name == "python" {
					want[i].Run[0] = testrun.Python(dir)
				}
			}
			assert.Equal(t, want, testrun.DetectSuites(dir))
		})
	}
}

func pySuite(tm time.Duration) factory.Suite {
	return factory.Suite{Name: "python", Run: []string{"python3", "-m", "pytest", "-q", "-p", "no:cacheprovider", "--junitxml=.factory/junit-python.xml"},
		Format: factory.FormatJUnit, JUnitPath: ".factory/junit-python.xml", Timeout: tm}
}

func vitestSuite(tm time.Duration, args ...string) factory.Suite {
	return factory.Suite{Name: "node", Run: append([]string{"node_modules/.bin/vitest", "run", "--reporter=junit", "--outputFile=.factory/junit-vitest.xml"}, args...),
		Format: factory.FormatJUnit, JUnitPath: ".factory/junit-vitest.xml", Timeout: tm}
}

// cargoSuite is cargo test's suite on this machine: nextest is not
// installed here (the nextest case is chosen only when it is).
func cargoSuite(tm time.Duration) factory.Suite {
	return factory.Suite{Name: "rust", Run: []string{"cargo", "test", "--offline", "--no-fail-fast"}, Format: factory.FormatExitCode, Timeout: tm}
}

// The interpreter: the project's .venv first, else one that imports
// pytest, tried in PATH order then /usr/bin/python3.
func TestPythonInterpreter(t *testing.T) {
	dir := t.TempDir()
	bin := t.TempDir()
	// A python3 first on PATH that cannot import pytest, as pyenv's shim.
	require.NoError(t, os.WriteFile(filepath.Join(bin, "python3"), []byte("#!/bin/sh\nexit 1\n"), 0o755))
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	got := testrun.Python(dir)
	assert.NotEqual(t, filepath.Join(bin, "python3"), got, "an interpreter that cannot import pytest is passed over")
	if _, err := os.Stat("/usr/bin/python3"); err == nil && exec.Command("/usr/bin/python3", "-c", "import pytest").Run() == nil {
		assert.True(t, filepath.IsAbs(got), "some interpreter imports pytest: %s", got)
	}
	require.NoError(t, os.MkdirAll(filepath.Join(dir, ".venv", "bin"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, ".venv", "bin", "python"), []byte("#!/bin/sh\n"), 0o755))
	assert.Equal(t, ".venv/bin/python", testrun.Python(dir))
}

// The detected suite of the Go fixture module is runnable as is.
func TestDetectSuitesOnFixtures(t *testing.T) {
	got := testrun.DetectSuites(filepath.Join("testdata", "testrun", "gomod"))
	require.Len(t, got, 1)
	assert.Equal(t, factory.FormatGoJSON, got[0].Format)
	got = testrun.DetectSuites(filepath.Join("testdata", "testrun", "nodeproj"))
	require.Len(t, got, 1)
	assert.Equal(t, factory.FormatJUnit, got[0].Format)
}

// A Detector asks each python3 once whether it imports pytest, not on
// every detection, and asks again once the program file changed;
// DetectSuites, without memory, asks every time.
func TestDetectorRemembersProbes(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "pytest.ini"), []byte("[pytest]\n"), 0o644))
	bin := t.TempDir()
	count := filepath.Join(t.TempDir(), "probes")
	py := filepath.Join(bin, "python3")
	script := "#!/bin/sh\necho probed >> " + count + "\nexit 0\n"
	require.NoError(t, os.WriteFile(py, []byte(script), 0o755))
	t.Setenv("PATH", bin)
	probes := func() int {
		b, _ := os.ReadFile(count)
		return len(strings.Fields(string(b)))
	}
	var d testrun.Detector
	for range 3 {
		s := d.Suites(dir)
		require.Len(t, s, 1)
		require.Equal(t, py, s[0].Run[0])
	}
	require.Equal(t, 1, probes(), "one probe for three detections")
	// The interpreter replaced (a new python3, or pytest installed into
	// a new one): asked again.
	require.NoError(t, os.WriteFile(py, []byte(script+"# v2\n"), 0o755))
	d.Suites(dir)
	require.Equal(t, 2, probes())
	testrun.DetectSuites(dir)
	testrun.DetectSuites(dir)
	require.Equal(t, 4, probes(), "DetectSuites keeps nothing")
}
