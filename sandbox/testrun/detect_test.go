package testrun_test

import (
	"os"
	"path/filepath"
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
			[]factory.Suite{{Name: "node", Run: []string{"npx", "--no-install", "vitest", "run", "--reporter=junit", "--outputFile=.factory/junit-vitest.xml", "src"},
				Format: factory.FormatJUnit, JUnitPath: ".factory/junit-vitest.xml", Timeout: tm}}},
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
		{"pyproject without pytest", map[string]string{"pyproject.toml": "[project]\nname = \"x\"\n"}, nil},
		{"cargo", map[string]string{"Cargo.toml": "[package]\nname = \"x\"\n"},
			[]factory.Suite{{Name: "rust", Run: []string{"cargo", "test"}, Format: factory.FormatExitCode, Timeout: tm}}},
		{"cargo nextest junit", map[string]string{"Cargo.toml": "[package]\n", ".config/nextest.toml": "[profile.default]\nretries = 0\n\n[profile.default.junit]\npath = \"junit.xml\"\n"},
			[]factory.Suite{{Name: "rust", Run: []string{"cargo", "nextest", "run", "--no-fail-fast"}, Format: factory.FormatJUnit,
				JUnitPath: "target/nextest/default/junit.xml", Timeout: tm}}},
		{"nextest junit path escaping", map[string]string{"Cargo.toml": "[package]\n", ".config/nextest.toml": "[profile.default.junit]\npath = \"../../x.xml\"\n"},
			[]factory.Suite{{Name: "rust", Run: []string{"cargo", "test"}, Format: factory.FormatExitCode, Timeout: tm}}},
		{"polyglot", map[string]string{"go.mod": "module x\n", "conftest.py": ""}, []factory.Suite{goSuite, pySuite(tm)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, body := range tc.files {
				p := filepath.Join(dir, name)
				require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
				require.NoError(t, os.WriteFile(p, []byte(body), 0o644))
			}
			assert.Equal(t, tc.want, testrun.DetectSuites(dir))
		})
	}
}

func pySuite(tm time.Duration) factory.Suite {
	return factory.Suite{Name: "python", Run: []string{"python3", "-m", "pytest", "-q", "--junitxml=.factory/junit-python.xml"},
		Format: factory.FormatJUnit, JUnitPath: ".factory/junit-python.xml", Timeout: tm}
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
