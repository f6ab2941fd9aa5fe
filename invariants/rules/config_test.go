package rules

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/factory-dev/factory"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseErrorsNameFileLineFieldAndTheFix(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		want       []string // regexps, all must match
	}{
		{"run is a string", "version: 1\ngates:\n  vet:\n    run: go vet ./...\n",
			[]string{`^factory\.yaml:4: gates\.vet\.run: expected a list of strings \(argv\), got a string; write run: \[go, vet, \./\.\.\.\]$`}},
		{"unknown top-level field", "version: 1\ngatez: {}\n",
			[]string{`factory\.yaml:2: gatez: unknown field; expected one of version, suites, sandbox, patch, gates, invariants`}},
		{"typo in a gate", "version: 1\ngates:\n  vet: {run: [go, vet], timeuot: 1m}\n",
			[]string{`factory\.yaml:3: gates\.vet\.timeuot: unknown field; expected one of run, env, timeout`}},
		{"bad memory", "version: 1\nsandbox: {memory: lots}\n",
			[]string{`factory\.yaml:2: sandbox\.memory: expected a size such as 4GiB or 512MiB, got "lots"`}},
		{"bad version", "version: 2\n", []string{`factory\.yaml:1: version: only version 1 exists`}},
		{"missing version", "gates: {}\n", []string{`version: missing; write version: 1`}},
		{"unknown suite", "version: 1\ngates:\n  tests: {suite: nope}\n", []string{`factory\.yaml:3: gates\.tests\.suite: no suite named "nope"`}},
		{"gate without kind", "version: 1\ngates:\n  x: {timeout: 1m}\n", []string{`factory\.yaml:3: gates\.x: expected one of suite, run, builtin`}},
		{"two kinds", "version: 1\ngates:\n  x: {run: [a], suite: b}\n", []string{`gates\.x\.suite: a gate has one kind`}},
		{"invariants not a list", "version: 1\ninvariants: {id: x}\n", []string{`factory\.yaml:2: invariants: expected a list, got a mapping`}},
		{"invariant without id", "version: 1\ninvariants:\n  - {expr: \"true\"}\n", []string{`factory\.yaml:3: invariants\[0\]\.id: missing`}},
		{"duplicate id", "version: 1\ninvariants:\n  - {id: a, expr: \"true\"}\n  - {id: a, expr: \"true\"}\n", []string{`factory\.yaml:4: invariants\[a\]\.id: id "a" is used twice`}},
		{"deny_imports without gate", "version: 1\ninvariants:\n  - {id: l, deny_imports: {from: ./a, to: ./b}}\n", []string{`factory\.yaml:3: invariants\[l\]\.deny_imports: needs a go-imports, js-imports or py-imports gate; add one under gates, e.g. imports: \{builtin: go-imports\}`}},
		{"bad regex", "version: 1\ninvariants:\n  - {id: f, forbid: {pattern: \"a(\"}}\n", []string{`invariants\[f\]\.forbid\.pattern: not a valid RE2`}},
		{"bad scope", "version: 1\ninvariants:\n  - {id: f, forbid: {pattern: a, scope: lines}}\n", []string{`factory\.yaml:3: invariants\[f\]\.forbid\.scope: expected added-lines or files, got "lines"`}},
		{"bad glob", "version: 1\ninvariants:\n  - {id: p, protect: [\"/abs/**\"]}\n", []string{`invariants\[p\]\.protect: glob "/abs/\*\*": write a path relative to the root`}},
		{"bad duration", "version: 1\nsuites:\n  u: {run: [x], timeout: soon}\n", []string{`factory\.yaml:3: suites\.u\.timeout: expected a positive duration such as 90s or 10m, got "soon"`}},
		{"syntax error", "version: 1\ngates: {a: [}\n", []string{`^factory\.yaml:2: invalid YAML`}},
		{"several problems at once", "version: 1\ngates:\n  vet: {run: go}\nsandbox: {network: maybe}\n",
			[]string{`factory\.yaml:3: gates\.vet\.run`, `factory\.yaml:4: sandbox\.network: expected true or false, got a string`}},
		{"relative hide path", "version: 1\nsandbox: {hide: [.ssh]}\n", []string{`sandbox\.hide\[0\]: ".ssh" must be an absolute path or start with ~/`}},
		{"hide everything", "version: 1\nsandbox: {unhide: [/etc/x, ~/]}\n", []string{`sandbox\.unhide\[1\]: "~/" names the root or a whole home`}},
		{"hide with dotdot", "version: 1\nsandbox: {hide: [~/../etc]}\n", []string{`sandbox\.hide\[0\]: "~/../etc" must not contain \.\.`}},
		{"hide not a list", "version: 1\nsandbox: {hide: {a: b}}\n", []string{`sandbox\.hide: expected a list of paths, got .*; write hide: \[~/.config/secret, /etc/secret\]`}},
		{"reserved gate name", "version: 1\ngates:\n  baseline: {run: [x]}\n", []string{`gates\.baseline: a gate name is letters, digits and _, and not baseline or diff`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("factory.yaml", []byte(tc.yaml))
			require.Error(t, err)
			assert.Equal(t, factory.EINVALID, factory.ErrorCode(err))
			for _, w := range tc.want {
				assert.Regexp(t, regexp.MustCompile("(?m)"+w), err.Error())
			}
		})
	}
}

func TestParseAcceptsBlockStyleAndEveryGateKind(t *testing.T) {
	cfg, err := Parse("f.yaml", []byte(`
version: 1
suites:
  unit:
    run: [go, test, -json, ./...]
    env: {CGO_ENABLED: "0"}
  js: {run: [npm, test], format: junit, junit_path: out/junit.xml}
sandbox:
  network: true
  memory: 512MiB
  processes: 64
  isolation: native
  writable: [~/.cache/go-build]
  env_allow: [GOFLAGS]
  hide: [~/.config/secret, /etc/app/*.key]
  unhide: [~/.npmrc]
gates:
  tests:
    suite: unit
    timeout: 2m
  todos: {pattern: {regex: "TODO", in: ["**/*.go"], scope: files}}
  cover: {coverage: {packages: [./a/..., ./b]}}
  perf: {bench: {pattern: Parse, count: 8, benchtime: 50ms}}
  lint: {run: [golangci-lint, run], env: {X: "1"}}
invariants:
  - id: cov
    expr: cover.total >= 80
  - {id: fast, max_regression: {bench: "BenchmarkParse*", percent: 7.5}}
  - {id: no-todo, forbid: {pattern: TODO}}
`))
	require.NoError(t, err)
	assert.Equal(t, factory.FormatGoJSON, cfg.Suites[0].Format, "go test -json implies go-json")
	assert.Equal(t, map[string]string{"CGO_ENABLED": "0"}, cfg.Suites[0].Env)
	assert.Equal(t, "out/junit.xml", cfg.Suites[1].JUnitPath)
	assert.Equal(t, factory.SandboxPolicy{Network: true, Memory: 512 << 20, Processes: 64, Isolation: "native",
		Writable: []string{"~/.cache/go-build"}, EnvAllow: []string{"GOFLAGS"},
		Hide: []string{"~/.config/secret", "/etc/app/*.key"}, Unhide: []string{"~/.npmrc"}}, cfg.Sandbox)
	kinds := map[string]string{}
	for _, g := range cfg.Gates {
		kinds[g.Name] = g.Kind
	}
	assert.Equal(t, map[string]string{"tests": GateSuite, "todos": GatePattern, "cover": GateCoverage, "perf": GateBench, "lint": GateCommand}, kinds)
	assert.Equal(t, 2*time.Minute, cfg.Gates[0].Timeout)
	assert.Equal(t, ScopeFiles, cfg.Gates[1].Scope)
	assert.Equal(t, []string{"./a/...", "./b"}, cfg.Gates[2].Packages)
	assert.Equal(t, 8, cfg.Gates[3].Count)
	assert.Equal(t, 7.5, cfg.Invariants[1].Percent)
	assert.Equal(t, "perf", cfg.Invariants[1].Gate)
	assert.Equal(t, ScopeAddedLines, cfg.Invariants[2].Scope, "added-lines is the default scope")
}

func TestLoadMissingFileIsNotFound(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "factory.yaml"))
	assert.Equal(t, factory.ENOTFOUND, factory.ErrorCode(err))
	assert.Contains(t, err.Error(), "factory init")
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"4GiB": 4 << 30, "4G": 4 << 30, "512MiB": 512 << 20, "1.5KiB": 1536, "100": 100, "100B": 100, "2TiB": 2 << 40} {
		got, err := ParseSize(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	for _, bad := range []string{"", "GiB", "-1G", "4 parsecs"} {
		_, err := ParseSize(bad)
		assert.Error(t, err, bad)
	}
}

func TestPatchLimitsParse(t *testing.T) {
	cfg, err := Parse("factory.yaml", []byte("version: 1\npatch: {max_write: 2MiB, max_file: 512KiB}\n"))
	require.NoError(t, err)
	require.Equal(t, PatchLimits{MaxWrite: 2 << 20, MaxFile: 512 << 10}, cfg.Patch)
	req := cfg.Patch.Apply(factory.PatchRequest{Patch: "x"})
	require.Equal(t, int64(2<<20), req.MaxWriteBytes)
	require.Equal(t, int64(512<<10), req.MaxFileBytes)

	for _, bad := range []string{"patch: {max_write: lots}", "patch: {max_write: 0}", "patch: {max_bytes: 1MiB}", "patch: 5"} {
		_, err := Parse("factory.yaml", []byte("version: 1\n"+bad+"\n"))
		require.Error(t, err, bad)
		require.Equal(t, factory.EINVALID, factory.ErrorCode(err), bad)
		require.Contains(t, factory.ErrorMessage(err), "patch", bad)
	}
}

func TestMatchGlob(t *testing.T) {
	for _, tc := range []struct {
		glob, path string
		want       bool
	}{
		{"factory.yaml", "factory.yaml", true},
		{"factory.yaml", "sub/factory.yaml", false},
		{"**/*_test.go", "a_test.go", true},
		{"**/*_test.go", "x/y/a_test.go", true},
		{"**/*_test.go", "x/y/a.go", false},
		{"core/*.go", "core/a.go", true},
		{"core/*.go", "core/sub/a.go", false},
		{"core/**", "core/sub/a.go", true},
		{"core/", "core/sub/a.go", true},
		{"core/**/x.go", "core/x.go", true},
		{"core/**/x.go", "core/a/b/x.go", true},
		{"**", "anything/at/all", true},
		{"a/**/b/**/c", "a/1/b/2/3/c", true},
		{"a/**/b/**/c", "a/1/2/3/c", false},
		{"[ab].go", "b.go", true},
	} {
		assert.Equal(t, tc.want, MatchGlob(tc.glob, tc.path), "%s ~ %s", tc.glob, tc.path)
	}
}

// A count whose paired test can never reach p < 0.01 is refused at load,
// saying the minimum; the starter file suggests one that can.
func TestBenchCountThatCanNeverFailIsRefused(t *testing.T) {
	cfg := func(count int) string {
		return fmt.Sprintf("version: 1\ngates:\n  perf: {bench: {packages: [./...], count: %d}}\ninvariants:\n  - {id: fast, max_regression: {bench: \"Benchmark*\", percent: 10}}\n", count)
	}
	_, err := Parse("factory.yaml", []byte(cfg(6)))
	require.Error(t, err)
	assert.Equal(t, factory.EINVALID, factory.ErrorCode(err))
	assert.Contains(t, err.Error(), "count 6 can never reach p < 0.01 (the smallest p with 6 pairs is 0.031); use count: 8 or more")
	_, err = Parse("factory.yaml", []byte(cfg(7)))
	assert.ErrorContains(t, err, "the smallest p with 7 pairs is 0.016")
	c, err := Parse("factory.yaml", []byte(cfg(8)))
	require.NoError(t, err)
	assert.Equal(t, 8, c.Gates[0].Count)

	c, err = Parse("factory.yaml", []byte("version: 1\ngates:\n  perf: {bench: {budget: 45s}}\ninvariants: []\n"))
	require.NoError(t, err)
	assert.Equal(t, 45*time.Second, c.Gates[0].Budget)

	// the starter's suggestion, uncommented, loads
	starter := string(StarterConfig(nil, "go"))
	starter = strings.Replace(starter, "  # perf: {bench:", "  perf: {bench:", 1)
	starter = strings.Replace(starter, "  # - {id: fast, max_regression:", "  - {id: fast, max_regression:", 1)
	require.Contains(t, starter, "\n  perf: {bench: {packages: [./...], count: 10}}")
	_, err = Parse("factory.yaml", []byte(starter))
	require.NoError(t, err)
}
