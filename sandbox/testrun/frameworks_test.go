package testrun_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/factory-dev/factory"
	"github.com/factory-dev/factory/internal/attacktest"
	"github.com/factory-dev/factory/sandbox/testrun"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var (
	pytestSuite = factory.Suite{Name: "py", Format: factory.FormatJUnit, JUnitPath: ".factory/j.xml",
		Run: []string{"/usr/bin/python3", "-m", "pytest", "-q", "-p", "no:cacheprovider", "--junitxml=.factory/j.xml", "tests", "-k", "old"}}
	vitestFwSuite = factory.Suite{Name: "ts", Format: factory.FormatJUnit, JUnitPath: ".factory/j.xml",
		Run: []string{"node_modules/.bin/vitest", "run", "--reporter=junit", "--outputFile", ".factory/j.xml", "src", "-t", "old"}}
	nodeSuite = factory.Suite{Name: "node", Format: factory.FormatJUnit, JUnitPath: ".factory/j.xml",
		Run: []string{"node", "--test", "--test-reporter=junit", "--test-reporter-destination=.factory/j.xml", "test/"}}
	cargoFwSuite = factory.Suite{Name: "rust", Format: factory.FormatExitCode, Run: []string{"cargo", "test", "--offline", "--no-fail-fast"}}
)

// Narrowing by path replaces the suite's own paths (a pytest suite
// narrowed to one directory runs that directory, not it and the suite's
// tests again); narrowing by name replaces the suite's own selection.
func TestNarrowArgvFrameworks(t *testing.T) {
	for _, tc := range []struct {
		name      string
		suite     factory.Suite
		pkg, test string
		want      []string
	}{
		{"pytest path replaces", pytestSuite, "tests/unit", "",
			[]string{"/usr/bin/python3", "-m", "pytest", "-q", "-p", "no:cacheprovider", "--junitxml=.factory/j.xml", "-k", "old", "tests/unit"}},
		{"pytest -k replaces", pytestSuite, "", "test_take",
			[]string{"/usr/bin/python3", "-m", "pytest", "-k", "test_take", "-q", "-p", "no:cacheprovider", "--junitxml=.factory/j.xml", "tests"}},
		{"pytest node id", pytestSuite, "", "tests/test_x.py::test_take[a-1]",
			[]string{"/usr/bin/python3", "-m", "pytest", "-q", "-p", "no:cacheprovider", "--junitxml=.factory/j.xml", "tests/test_x.py::test_take[a-1]"}},
		{"vitest -t and path", vitestFwSuite, "test/money.test.ts", "adds cents",
			[]string{"node_modules/.bin/vitest", "run", "-t", "adds cents", "--reporter=junit", "--outputFile", ".factory/j.xml", "test/money.test.ts"}},
		{"npx jest", factory.Suite{Format: factory.FormatJUnit, Run: []string{"npx", "jest", "--ci", "src"}}, "lib", "^x$",
			[]string{"npx", "jest", "-t", "^x$", "--ci", "lib"}},
		{"node name pattern", nodeSuite, "", "adds",
			[]string{"node", "--test-name-pattern=adds", "--test", "--test-reporter=junit", "--test-reporter-destination=.factory/j.xml", "test/"}},
		{"node path replaces", nodeSuite, "test/a.test.js", "",
			[]string{"node", "--test", "--test-reporter=junit", "--test-reporter-destination=.factory/j.xml", "test/a.test.js"}},
		{"cargo filter", cargoFwSuite, "", "tests::balance_sums",
			[]string{"cargo", "test", "--offline", "--no-fail-fast", "tests::balance_sums"}},
		{"cargo crate", factory.Suite{Format: factory.FormatExitCode, Run: []string{"cargo", "test", "--workspace", "old", "--", "--nocapture"}}, "ledger", "new",
			[]string{"cargo", "test", "-p", "ledger", "new", "--", "--nocapture"}},
		{"cargo test file", cargoFwSuite, "tests/ledger.rs", "",
			[]string{"cargo", "test", "--offline", "--no-fail-fast", "--test", "ledger"}},
		{"mocha grep", factory.Suite{Format: factory.FormatTAP, Run: []string{"node_modules/.bin/mocha", "--reporter=tap", "--grep", "old", "test/"}}, "", "new",
			[]string{"node_modules/.bin/mocha", "--grep", "new", "--reporter=tap", "test/"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := append([]string(nil), tc.suite.Run...)
			got, err := testrun.NarrowArgv(tc.suite, tc.pkg, tc.test)
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
			assert.Equal(t, before, tc.suite.Run)
		})
	}
}

// attack: the model narrows a pytest, vitest, node or cargo suite with a
// test name or path that is a flag (--rootdir=/, -p evil, --config=/etc/x,
// --test-reporter-destination=/etc/passwd, --manifest-path), a path out of
// the root, or a name with control characters -> EINVALID, nothing runs:
// the workspace and the paths aimed at are byte-identical
func TestAttackNarrowInjectsFlags(t *testing.T) {
	for _, tc := range []struct {
		suite     factory.Suite
		pkg, test string
	}{
		{pytestSuite, "", "-p evil"},
		{pytestSuite, "", "--rootdir=/"},
		{pytestSuite, "--rootdir=/", ""},
		{pytestSuite, "/etc", ""},
		{pytestSuite, "../outside", ""},
		{pytestSuite, "", "../x.py::test_a"},
		{pytestSuite, "", "x or __import__('os')"},
		{vitestFwSuite, "", "--config=/etc/evil.ts"},
		{vitestFwSuite, "", "a\nb"},
		{vitestFwSuite, "", "(["},
		{vitestFwSuite, "-c/etc/x", ""},
		{nodeSuite, "", "--test-reporter-destination=/etc/passwd"},
		{nodeSuite, "--import=/tmp/evil.mjs", ""},
		{cargoFwSuite, "", "--manifest-path=/etc/x"},
		{cargoFwSuite, "--manifest-path", ""},
		{cargoFwSuite, "", "a b"},
		{cargoFwSuite, "../../other/tests/x.rs", ""},
	} {
		argv, err := testrun.NarrowArgv(tc.suite, tc.pkg, tc.test)
		require.Error(t, err, "%s %q %q -> %q", tc.suite.Name, tc.pkg, tc.test, argv)
		assert.Equal(t, factory.EINVALID, factory.ErrorCode(err), err.Error())
	}

	// Through a real run: refused before anything starts, the workspace
	// and the path the flag aimed at untouched.
	w := fixtureRepo(t, "nodeproj")
	aim := filepath.Join(t.TempDir(), "aimed")
	require.NoError(t, os.MkdirAll(aim, 0o755))
	before := attacktest.Take(t, w.Root(), aim)
	s := testrun.DetectSuites(w.Root())[0]
	for _, test := range []string{"--test-reporter-destination=" + aim + "/x.xml", "-r" + aim + "/evil.js"} {
		_, _, err := testrun.New(w).Run(context.Background(), testrun.Job{Suite: s, Request: factory.TestRequest{Test: test}})
		assert.Equal(t, factory.EINVALID, factory.ErrorCode(err), "%v", err)
	}
	_, _, err := testrun.New(w).Run(context.Background(), testrun.Job{Suite: s, Request: factory.TestRequest{Package: "--import=" + aim + "/evil.mjs"}})
	assert.Equal(t, factory.EINVALID, factory.ErrorCode(err), "%v", err)
	attacktest.Unchanged(t, before, w.Root(), aim)
}
