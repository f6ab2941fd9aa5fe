package rules

import (
	"bytes"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/factory-dev/factory"
)

var plainYAML = regexp.MustCompile(`^[A-Za-z0-9_./=+^$-]*[A-Za-z0-9_./=+$]$`)

func yamlScalar(s string) string {
	if plainYAML.MatchString(s) && !strings.HasPrefix(s, "- ") {
		switch strings.ToLower(s) {
		case "true", "false", "yes", "no", "on", "off", "null", "~":
		default:
			if _, err := strconv.ParseFloat(s, 64); err != nil {
				return s
			}
		}
	}
	return strconv.Quote(s)
}

func yamlList(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = yamlScalar(s)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// StarterConfig returns a commented factory.yaml for a repository whose
// detected language is lang ("go", or anything else) and whose test suites
// are suites (from the sandbox's detection; empty means a placeholder
// suite). The result always parses with Parse.
func StarterConfig(suites []factory.Suite, lang string) []byte {
	var b bytes.Buffer
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	isGo := lang == "go"
	if len(suites) == 0 {
		if isGo {
			suites = []factory.Suite{{Name: "unit", Run: []string{"go", "test", "-json", "./..."}, Format: factory.FormatGoJSON}}
		} else {
			suites = []factory.Suite{{Name: "unit", Run: []string{"make", "test"}, Format: factory.FormatExitCode}}
		}
	}
	w("# factory.yaml: the gates every change must pass (read by `factory check`,\n")
	w("# change_propose and invariant_check). Commands are argv lists, never shell\n")
	w("# strings. The rules are always read from the base, so a change cannot edit\n")
	w("# the rules that judge it: this file is protected implicitly.\n")
	w("version: 1\n\n")
	w("# Test suites, run by test_run and by suite gates.\n")
	w("#   format: go-json | junit (with junit_path) | tap | exit-code\n")
	w("suites:\n")
	for _, s := range suites {
		w("  %s: {run: %s, format: %s", s.Name, yamlList(s.Run), s.Format)
		if s.JUnitPath != "" {
			w(", junit_path: %s", yamlScalar(s.JUnitPath))
		}
		timeout := s.Timeout
		if timeout == 0 {
			w(", timeout: 10m}\n")
		} else {
			w(", timeout: %s}\n", timeout)
		}
	}
	w("\n# Limits for every command a suite or gate runs.\n")
	w("sandbox: {network: false, memory: 4GiB}\n\n")
	w("# Gates run on the proposed tree and produce facts, named by the gate:\n")
	w("#   suite: total, passed, failed, skipped, build_errors, failures,\n")
	w("#          new_failures (failing here, not on the base), already_failing\n")
	w("#   run (a command): exit_code, output     builtin go-imports: edges\n")
	w("#   diff (always there): files, lines_added, lines_deleted, paths\n")
	w("gates:\n")
	w("  tests: {suite: %s}\n", suites[0].Name)
	if isGo {
		w("  vet: {run: [go, vet, ./...]}\n")
		w("  imports: {builtin: go-imports}\n")
		w("  # cover: {coverage: {packages: [./...]}}           # total, packages\n")
		w("  # perf: {bench: {packages: [./...], count: 10}}    # compare with the base\n")
	} else {
		w("  # lint: {run: [make, lint]}\n")
	}
	w("\n# Invariants judge the facts; baseline.* is the same facts on the base.\n")
	w("invariants:\n")
	// A test already failing on the base would block every change with
	// "tests.failed == 0"; new_failures names only the tests the change
	// broke, and the evidence lists those that were already failing.
	w("  - {id: no-new-failures, expr: \"len(tests.new_failures) == 0 && tests.build_errors <= baseline.tests.build_errors\"}\n")
	w("  - {id: no-new-skips, expr: \"tests.skipped <= baseline.tests.skipped\"}\n")
	if isGo {
		w("  - {id: vet-clean, expr: \"vet.exit_code == 0\"}\n")
		w("  # - {id: layering, deny_imports: {from: \"./ui/...\", to: [\"./internal/db/...\"]}}\n")
		w("  # - {id: tests-untouched, protect: [\"**/*_test.go\"]}\n")
		w("  # - {id: no-todo, forbid: {pattern: \"TODO\", in: [\"**/*.go\"], scope: added-lines}}\n")
		w("  # - {id: fast, max_regression: {bench: \"Benchmark*\", percent: 10}}\n")
	} else {
		w("  # - {id: tests-untouched, protect: [\"tests/**\"]}\n")
	}
	return b.Bytes()
}
