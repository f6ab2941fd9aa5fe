package invariants

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/factory-dev/factory"
	"github.com/factory-dev/factory/invariants/gates"
	"github.com/factory-dev/factory/invariants/rules"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The factory.yaml sketch of the original design, verbatim.
const sketch = `version: 1
suites:
  unit: {run: [go, test, -json, ./...], format: go-json, timeout: 10m}
sandbox: {network: false, memory: 4GiB}
gates:                               # each produces facts
  tests: {suite: unit}
  vet: {run: [go, vet, ./...]}
  imports: {builtin: go-imports}
invariants:                          # each is a verdict over facts
  - {id: tests-pass, expr: "tests.failed == 0 && tests.build_errors == 0"}
  - {id: vet-clean, expr: "vet.exit_code == 0"}
  - {id: layering, deny_imports: {from: "./tools/...", to: ["./traces/internal/..."]}}
  - {id: tests-untouched, protect: ["**/*_test.go"]}
  - {id: no-new-skips, expr: "tests.skipped <= baseline.tests.skipped"}
`

func TestParseTheDesignSketch(t *testing.T) {
	cfg, err := rules.Parse("factory.yaml", []byte(sketch))
	require.NoError(t, err)
	assert.Equal(t, 1, cfg.Version)
	require.Len(t, cfg.Suites, 1)
	assert.Equal(t, factory.Suite{Name: "unit", Run: []string{"go", "test", "-json", "./..."}, Format: factory.FormatGoJSON, Timeout: 10 * time.Minute}, cfg.Suites[0])
	assert.Equal(t, factory.SandboxPolicy{Network: false, Memory: 4 << 30}, cfg.Sandbox)
	require.Len(t, cfg.Gates, 3)
	assert.Equal(t, rules.Gate{Name: "tests", Kind: rules.GateSuite, Suite: "unit", Line: 6}, cfg.Gates[0])
	assert.Equal(t, rules.Gate{Name: "vet", Kind: rules.GateCommand, Run: []string{"go", "vet", "./..."}, Line: 7}, cfg.Gates[1])
	assert.Equal(t, rules.Gate{Name: "imports", Kind: rules.GateGoImports, Line: 8}, cfg.Gates[2])
	require.Len(t, cfg.Invariants, 5)
	assert.Equal(t, "tests.failed == 0 && tests.build_errors == 0", cfg.Invariants[0].Expr)
	assert.Equal(t, rules.InvDenyImports, cfg.Invariants[2].Kind)
	assert.Equal(t, []string{"./tools/..."}, cfg.Invariants[2].From)
	assert.Equal(t, []string{"./traces/internal/..."}, cfg.Invariants[2].To)
	assert.Equal(t, "imports", cfg.Invariants[2].Gate, "the only go-imports gate is picked")
	assert.Equal(t, []string{"**/*_test.go"}, cfg.Invariants[3].Globs)
	assert.Equal(t, 14, cfg.Invariants[4].Line)
	assert.Len(t, cfg.Hash, 64)

	// Every sketch expression type-checks against the gates' facts.
	p := newPlan(cfg)
	for _, c := range p.invs {
		assert.Empty(t, c.bad, c.ID)
	}
}

func TestParseTheExampleWorkspaces(t *testing.T) {
	for _, path := range []string{"testdata/shop/factory.yaml", "../examples/gates/factory.yaml"} {
		cfg, err := rules.Load(path)
		require.NoError(t, err, path)
		for _, c := range newPlan(cfg).invs {
			assert.Empty(t, c.bad, "%s: %s", path, c.ID)
		}
	}
}

func TestStarterConfigParsesAndMatchesTheSuites(t *testing.T) {
	for _, tc := range []struct {
		lang   string
		suites []factory.Suite
	}{
		{"go", nil},
		{"go", []factory.Suite{{Name: "unit", Run: []string{"go", "test", "-json", "./..."}, Format: factory.FormatGoJSON, Timeout: 5 * time.Minute}}},
		{"python", []factory.Suite{{Name: "pytest", Run: []string{"python3", "-m", "pytest", "--junitxml=out.xml"}, Format: factory.FormatJUnit, JUnitPath: "out.xml"}}},
		{"node", []factory.Suite{{Name: "npm", Run: []string{"npm", "test", "--", "--yes"}, Format: factory.FormatExitCode}}},
		{"", nil},
	} {
		out := rules.StarterConfig(tc.suites, tc.lang)
		cfg, err := rules.Parse("factory.yaml", out)
		require.NoError(t, err, string(out))
		if tc.suites != nil {
			want := tc.suites[0]
			if want.Timeout == 0 {
				want.Timeout = 10 * time.Minute
			}
			assert.Equal(t, want, cfg.Suites[0])
		}
		assert.True(t, strings.HasPrefix(string(out), "# factory.yaml"))
		found := false
		for _, c := range newPlan(cfg).invs {
			assert.Empty(t, c.bad, c.ID)
			if c.ID == "no-new-failures" {
				// new_failures compares with the base: the suite runs there too
				found = assert.Equal(t, []string{"tests"}, c.baseRefs)
			}
		}
		assert.True(t, found, "a test failing on the base does not block every change")
		if tc.lang == "go" {
			assert.Contains(t, string(out), "imports: {builtin: go-imports}")
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(sketch))
	for _, p := range []string{"testdata/shop/factory.yaml", "../examples/gates/factory.yaml"} {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("version: 1\ngates: {a: &x {run: [a]}, b: *x}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := rules.Parse("f.yaml", data)
		if err != nil {
			assert.Equal(t, factory.EINVALID, factory.ErrorCode(err))
			assert.True(t, strings.HasPrefix(err.Error(), "f.yaml"), err.Error())
			return
		}
		_ = newPlan(cfg) // compiling never panics
		_ = Describe(cfg)
	})
}

// An invariant reading new_failures alone still gets the base's failures
// to compare with: without them every failure would look new, or none.
func TestNewFailuresReadsTheBase(t *testing.T) {
	cfg, err := rules.Parse("factory.yaml", []byte("version: 1\nsuites:\n  unit: {run: [go, test, -json, ./...]}\ngates:\n  tests: {suite: unit}\ninvariants:\n  - {id: nnf, expr: \"len(tests.new_failures) == 0\"}\n"))
	require.NoError(t, err)
	for _, c := range newPlan(cfg).invs {
		if c.ID == "nnf" {
			assert.Equal(t, []string{"tests"}, c.baseRefs)
			assert.False(t, c.static)
		}
	}
	base := gates.SuiteFacts{Failures: []string{"p.TestOld"}}
	got := gates.CompareFailures(gates.SuiteFacts{Failures: []string{"p.TestOld", "p.TestNew"}}, base)
	assert.Equal(t, []string{"p.TestNew"}, got.NewFailures)
	assert.Equal(t, []string{"p.TestOld"}, got.AlreadyFailing)
}
