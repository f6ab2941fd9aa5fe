package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/factory-dev/factory"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func read(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	return b
}

func names(fs []factory.TestFailure) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Name)
	}
	return out
}

func byName(t *testing.T, fs []factory.TestFailure, name string) factory.TestFailure {
	t.Helper()
	for _, f := range fs {
		if f.Name == name {
			return f
		}
	}
	t.Fatalf("no failure named %q in %v", name, names(fs))
	return factory.TestFailure{}
}

// go-fixture.json is `go test -json -count=1 -p 1 ./...` of
// sandbox/testdata/testrun/gomod with no FIXTURE_* variables set (the
// confine tests skip), paths rewritten to /src/fixture.
func TestGoJSONFixtureRun(t *testing.T) {
	res := ParseGoJSON(read(t, "go-fixture.json"), nil, false)
	rep := Build(res, Input{Suite: "unit", Format: factory.FormatGoJSON, ExitCode: 1, Root: "/src/fixture"})

	assert.Equal(t, factory.TestError, rep.Status, "a build error makes the run an error")
	require.Len(t, rep.BuildErrors, 1)
	be := rep.BuildErrors[0]
	assert.Equal(t, "example.com/fixture/broken", be.Package)
	assert.Equal(t, "broken/broken.go", be.File)
	assert.Equal(t, 5, be.Line)
	assert.Equal(t, "undefined: undeclaredName", be.Message)

	assert.Equal(t, factory.TestCounts{Total: 215, Passed: 204, Failed: 7, Skipped: 4}, rep.Counts, "TestTable, folded, is not counted: failed equals the failures listed")
	assert.Equal(t, []string{
		"TestAddFails", "TestTable/one", "TestTable/two",
		"TestParentOwnFailure", "TestParentOwnFailure/child", "TestFlaky", "TestPanics",
	}, names(rep.Failures), "TestTable folds into its failing subtests; TestParentOwnFailure failed by itself too")

	f := byName(t, rep.Failures, "TestAddFails")
	assert.Equal(t, "example.com/fixture/basic", f.Package)
	assert.Equal(t, "basic_test.go", f.File)
	assert.Equal(t, 20, f.Line)
	assert.Equal(t, "Add(2, 2) = 4, want 5", f.Message, "the assertion, not the first log line")
	require.Len(t, f.Output, HeadLines+TailLines)
	assert.Equal(t, 41-HeadLines-TailLines, f.Omitted)
	assert.Equal(t, "basic_test.go:18: step 1 of the setup", f.Output[0])
	assert.Equal(t, "basic_test.go:22: cleanup line 20", f.Output[len(f.Output)-1])

	p := byName(t, rep.Failures, "TestParentOwnFailure")
	assert.Equal(t, []string{"TestParentOwnFailure/child"}, p.Subtests)
	assert.Equal(t, "parent broke too", p.Message)

	tw := byName(t, rep.Failures, "TestTable/two")
	assert.Equal(t, "Add(1, 1) = 2, want 3", tw.Message)
	assert.Empty(t, tw.Subtests)

	pa := byName(t, rep.Failures, "TestPanics")
	assert.True(t, strings.HasPrefix(pa.Message, "panic: assignment to entry in nil map"), pa.Message)
	assert.Equal(t, "panics/panics_test.go", pa.File, "absolute frame made relative to the root")
	assert.Equal(t, 9, pa.Line)
	assert.Equal(t, "panic: assignment to entry in nil map [recovered, repanicked]", pa.Output[0], "head of the output, not the tail only")
}

// go-timeout.json is a package whose subtest outlives `go test -timeout 1s`.
func TestGoJSONTestTimeoutIsMarked(t *testing.T) {
	rep := Build(ParseGoJSON(read(t, "go-timeout.json"), nil, false), Input{Format: factory.FormatGoJSON, ExitCode: 1})
	assert.Equal(t, factory.TestTimeout, rep.Status)
	assert.Equal(t, []string{"TestSlow/inner"}, names(rep.Failures))
	f := rep.Failures[0]
	assert.True(t, f.Timeout)
	assert.Equal(t, "panic: test timed out after 1s", f.Message)
	assert.Equal(t, factory.TestCounts{Total: 2, Passed: 1, Failed: 1}, rep.Counts, "TestSlow folds into TestSlow/inner")
}

// A run killed by the harness mid-test: the stream simply stops.
func TestGoJSONKilledRunKeepsWhatRan(t *testing.T) {
	lines := bytes.SplitAfter(read(t, "go-timeout.json"), []byte("\n"))
	cut := bytes.Join(lines[:9], nil) // up to "=== RUN TestSlow/inner"
	rep := Build(ParseGoJSON(cut, nil, true), Input{Format: factory.FormatGoJSON, ExitCode: -1, TimedOut: true})
	assert.Equal(t, factory.TestTimeout, rep.Status)
	assert.Equal(t, []string{"TestSlow/inner"}, names(rep.Failures))
	assert.True(t, rep.Failures[0].Timeout)
	assert.Equal(t, 1, rep.Counts.Passed)
}

func TestGoJSONStderrIsABuildError(t *testing.T) {
	stderr := []byte("go: downloading example.com/x v1.0.0\npattern ./...: directory prefix . does not contain main module or its selected dependencies\n")
	rep := Build(ParseGoJSON(nil, stderr, false), Input{Format: factory.FormatGoJSON, ExitCode: 1})
	assert.Equal(t, factory.TestError, rep.Status)
	require.Len(t, rep.BuildErrors, 1)
	assert.Contains(t, rep.BuildErrors[0].Message, "does not contain main module")
}

func TestNoTestsRanIsAnError(t *testing.T) {
	out := []byte(`{"Action":"start","Package":"example.com/x"}
{"Action":"output","Package":"example.com/x","Output":"?   \texample.com/x\t[no test files]\n"}
{"Action":"skip","Package":"example.com/x","Elapsed":0}
`)
	rep := Build(ParseGoJSON(out, nil, false), Input{Format: factory.FormatGoJSON})
	assert.Equal(t, factory.TestError, rep.Status)
	assert.Contains(t, rep.Notes, "no tests ran")
	assert.Zero(t, rep.Counts.Total)

	rep = Build(ParseTAP([]byte("TAP version 14\n1..0 # nothing here\n")), Input{Format: factory.FormatTAP})
	assert.Equal(t, factory.TestError, rep.Status)
}

func TestGoJSONPackageCrash(t *testing.T) {
	out := []byte(`{"Action":"start","Package":"example.com/x"}
{"Action":"output","Package":"example.com/x","Output":"setup: database unreachable\n"}
{"Action":"output","Package":"example.com/x","Output":"FAIL\texample.com/x\t0.002s\n"}
{"Action":"fail","Package":"example.com/x","Elapsed":0.002}
{"Action":"run","Package":"example.com/y","Test":"TestY"}
{"Action":"pass","Package":"example.com/y","Test":"TestY","Elapsed":0}
`)
	rep := Build(ParseGoJSON(out, nil, false), Input{Format: factory.FormatGoJSON, ExitCode: 1})
	assert.Equal(t, factory.TestFail, rep.Status)
	require.Len(t, rep.Failures, 1)
	assert.Equal(t, "(package)", rep.Failures[0].Name)
	assert.Equal(t, []string{"setup: database unreachable"}, rep.Failures[0].Output)
	assert.Equal(t, factory.TestCounts{Total: 1, Passed: 1}, rep.Counts)
}

func TestGoMessageTestify(t *testing.T) {
	lines := []string{
		"calc_test.go:14: ",
		"    \tError Trace:\t/src/calc_test.go:14",
		"    \tError:      \tNot equal: ",
		"    \t            \texpected: 5",
	}
	msg, file, line := goMessage(lines)
	assert.Equal(t, "Not equal:", msg)
	assert.Equal(t, "calc_test.go", file)
	assert.Equal(t, 14, line)
}

func TestHeadTail(t *testing.T) {
	var lines []string
	for i := 0; i < 40; i++ {
		lines = append(lines, strings.Repeat("x", i))
	}
	out, omitted := headTail(lines)
	assert.Equal(t, 25, omitted)
	assert.Equal(t, lines[:3], out[:3])
	assert.Equal(t, lines[28:], out[3:])
	out, omitted = headTail(lines[:15])
	assert.Equal(t, lines[:15], out)
	assert.Zero(t, omitted)
}

func TestPytestJUnit(t *testing.T) {
	res, err := ParseJUnit(read(t, "pytest.xml"))
	require.NoError(t, err)
	rep := Build(res, Input{Format: factory.FormatJUnit, ExitCode: 1})
	assert.Equal(t, factory.TestFail, rep.Status)
	assert.Equal(t, factory.TestCounts{Total: 5, Passed: 2, Failed: 2, Skipped: 1}, rep.Counts)
	assert.Equal(t, []string{"test_add_wrong", "test_by_zero"}, names(rep.Failures))
	f := rep.Failures[0]
	assert.Equal(t, "tests.test_calc", f.Package)
	assert.Equal(t, "assert 4 == 5", f.Message)
	assert.Equal(t, "tests/test_calc.py", f.File)
	assert.Equal(t, 9, f.Line)
	assert.Contains(t, f.Output, "computing", "system-out is part of the failure's output")
	e := rep.Failures[1]
	assert.Equal(t, "tests.test_calc.TestDivide", e.Package)
	assert.Equal(t, `failed on setup with "ZeroDivisionError: division by zero"`, e.Message)
	assert.Equal(t, 17, e.Line)
}

// node-junit.xml is node 20's --test-reporter=junit of
// sandbox/testdata/testrun/nodeproj: testcases straight under
// <testsuites>, describe blocks and parents with subtests as nested suites,
// a failing todo test with both <skipped> and <failure>.
func TestNodeJUnit(t *testing.T) {
	res, err := ParseJUnit(read(t, "node-junit.xml"))
	require.NoError(t, err)
	rep := Build(res, Input{Format: factory.FormatJUnit, ExitCode: 1, Root: "/src/nodeproj"})
	assert.Equal(t, factory.TestFail, rep.Status)
	assert.Equal(t, factory.TestCounts{Total: 8, Passed: 3, Failed: 3, Skipped: 2}, rep.Counts)
	assert.Equal(t, []string{"adds wrongly", "one", "child fails"}, names(rep.Failures))
	f := rep.Failures[0]
	assert.Equal(t, "Expected values to be strictly equal:4 !== 5", f.Message)
	assert.Equal(t, "test/math.test.js", f.File)
	assert.Equal(t, 12, f.Line)
	assert.Equal(t, "table", rep.Failures[1].Package, "the describe block names the group")
	assert.Equal(t, "parent", rep.Failures[2].Package)
}

func TestSurefireJUnit(t *testing.T) {
	res, err := ParseJUnit(read(t, "surefire-TEST-com.example.CalcTest.xml"))
	require.NoError(t, err)
	rep := Build(res, Input{Format: factory.FormatJUnit, ExitCode: 1})
	assert.Equal(t, factory.TestCounts{Total: 5, Passed: 2, Failed: 2, Skipped: 1}, rep.Counts)
	assert.Equal(t, []string{"addsWrongly", "dividesByZero"}, names(rep.Failures))
	assert.Equal(t, "expected: <5> but was: <4>", rep.Failures[0].Message)
	assert.Equal(t, "CalcTest.java", rep.Failures[0].File, "the first frame outside the assertion library")
	assert.Equal(t, 21, rep.Failures[0].Line)
	assert.Contains(t, rep.Failures[0].Output, "adding 2 and 2")
	assert.Equal(t, "/ by zero", rep.Failures[1].Message)
	assert.Equal(t, []string{"sometimesSlow"}, names(rep.Flaky), "surefire's own rerun passed it")
	assert.Equal(t, "timed out", rep.Flaky[0].Message)
}

func TestNextestJUnit(t *testing.T) {
	res, err := ParseJUnit(read(t, "nextest-junit.xml"))
	require.NoError(t, err)
	rep := Build(res, Input{Format: factory.FormatJUnit, ExitCode: 100})
	assert.Equal(t, factory.TestCounts{Total: 4, Passed: 2, Failed: 1, Skipped: 1}, rep.Counts)
	require.Len(t, rep.Failures, 1)
	f := rep.Failures[0]
	assert.Equal(t, "tests::adds_wrongly", f.Name)
	assert.Equal(t, "calc", f.Package)
	assert.Equal(t, "thread 'tests::adds_wrongly' panicked at src/lib.rs:14:9:", f.Message)
	assert.Equal(t, "src/lib.rs", f.File)
	assert.Equal(t, 14, f.Line)
}

func TestJUnitNotXML(t *testing.T) {
	_, err := ParseJUnit([]byte("this is not xml"))
	assert.Equal(t, factory.EINVALID, factory.ErrorCode(err))
}

// node.tap is node 20's --test-reporter=tap of the same project.
func TestNodeTAP(t *testing.T) {
	rep := Build(ParseTAP(read(t, "node.tap")), Input{Format: factory.FormatTAP, ExitCode: 1, Root: "/src/nodeproj"})
	assert.Equal(t, factory.TestFail, rep.Status)
	assert.Equal(t, factory.TestCounts{Total: 8, Passed: 3, Failed: 3, Skipped: 2}, rep.Counts,
		"the parents table and parent, folded, are not counted: failed equals the failures listed")
	assert.Equal(t, []string{"adds wrongly", "table > one", "parent > child fails"}, names(rep.Failures),
		"parents failing only through subtests are folded")
	f := rep.Failures[0]
	assert.Equal(t, "Expected values to be strictly equal:", f.Message)
	assert.Equal(t, "test/math.test.js", f.File)
	assert.Equal(t, 12, f.Line, "the stack's first frame, not the declaration")
	assert.Equal(t, "child broke", rep.Failures[2].Message)
}

func TestTAP14(t *testing.T) {
	rep := Build(ParseTAP(read(t, "tap14.tap")), Input{Format: factory.FormatTAP, ExitCode: 1})
	assert.Equal(t, factory.TestFail, rep.Status)
	assert.Equal(t, factory.TestCounts{Total: 7, Passed: 3, Failed: 2, Skipped: 2}, rep.Counts)
	assert.Equal(t, []string{"rejects empty input", "nested > second child"}, names(rep.Failures))
	assert.Equal(t, "expected an error, got nil", rep.Failures[0].Message)
	assert.Equal(t, "test/parse.t", rep.Failures[0].File)
	assert.Equal(t, 27, rep.Failures[0].Line)
	assert.Equal(t, "off by one", rep.Failures[1].Message)
	assert.Equal(t, "test/nested.t", rep.Failures[1].File)
	assert.Equal(t, 9, rep.Failures[1].Line)
	assert.Empty(t, rep.Notes)
}

func TestTAPBailOutAndShortPlan(t *testing.T) {
	rep := Build(ParseTAP([]byte("TAP version 13\n1..4\nok 1 - a\nok 2 - b\nBail out! database is gone\n")), Input{Format: factory.FormatTAP, ExitCode: 1})
	assert.Equal(t, factory.TestError, rep.Status)
	assert.Contains(t, rep.Notes, "bailed out: database is gone")
	assert.Equal(t, 2, rep.Counts.Passed)

	rep = Build(ParseTAP([]byte("1..3\nok 1\nok 2\n")), Input{Format: factory.FormatTAP})
	assert.Equal(t, factory.TestError, rep.Status)
	assert.Contains(t, rep.Notes, "plan was 1..3 but 2 tests reported")
}

func TestExitCodeFormat(t *testing.T) {
	log := []byte("compiling\nrunning checks\nerror: lint found 2 problems in src/main.rs:4\nmore detail\n")
	rep := Build(nil, Input{Suite: "lint", Format: factory.FormatExitCode, ExitCode: 2, Log: log})
	assert.Equal(t, factory.TestFail, rep.Status)
	require.Len(t, rep.Failures, 1)
	assert.Equal(t, "lint", rep.Failures[0].Name)
	assert.Equal(t, "error: lint found 2 problems in src/main.rs:4", rep.Failures[0].Message)
	assert.Equal(t, "src/main.rs", rep.Failures[0].File)
	assert.Equal(t, factory.TestCounts{Total: 1, Failed: 1}, rep.Counts)

	rep = Build(nil, Input{Suite: "lint", Format: factory.FormatExitCode, ExitCode: 0, Log: []byte("fine\n")})
	assert.Equal(t, factory.TestPass, rep.Status)
	assert.Equal(t, factory.TestCounts{Total: 1, Passed: 1}, rep.Counts)
}

func TestReportIsCompactAndKeepsEveryAssertion(t *testing.T) {
	// The report of the fixture run against the verbose text a person would
	// otherwise read (go-fixture-verbose.txt is `go test -v -count=1 -p 1
	// ./...` of the same module): every failing test's name and first
	// assertion or panic line must survive, in a tenth of the bytes.
	raw := read(t, "go-fixture.json")
	rep := Build(ParseGoJSON(raw, nil, false), Input{Format: factory.FormatGoJSON, ExitCode: 1, Root: "/src/fixture"})
	b, err := json.Marshal(rep)
	require.NoError(t, err)
	want := map[string]string{
		"TestAddFails":               "Add(2, 2) = 4, want 5",
		"TestTable/one":              "Add(1, 0) = 1, want 2",
		"TestTable/two":              "Add(1, 1) = 2, want 3",
		"TestParentOwnFailure":       "parent broke too",
		"TestParentOwnFailure/child": "child broke",
		"TestFlaky":                  "first run fails",
		"TestPanics":                 "panic: assignment to entry in nil map [recovered, repanicked]",
	}
	verbose := read(t, "go-fixture-verbose.txt") // go test -v of the same module
	assert.Len(t, rep.Failures, len(want))
	for name, msg := range want {
		f := byName(t, rep.Failures, name)
		assert.Equal(t, msg, f.Message, name)
		assert.Contains(t, string(b), msg)
		assert.Contains(t, string(verbose), msg, "the message is the run's own line")
	}
	assert.LessOrEqual(t, float64(len(b))/float64(len(verbose)), 0.10,
		"report %d bytes against %d bytes of go test -v", len(b), len(verbose))
}

func FuzzParseTAP(f *testing.F) {
	f.Add([]byte("TAP version 14\n1..2\nok 1 - a\n# Subtest: b\n    not ok 1 - c\n      ---\n      message: x\n      ...\nnot ok 2 - b\n"))
	f.Add([]byte("    ok 1\n  ---\n...\nBail out!\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		res := ParseTAP(data)
		countsAgree(t, res, Build(res, Input{Format: factory.FormatTAP}))
	})
}

func FuzzParseJUnit(f *testing.F) {
	f.Add([]byte(`<testsuites><testcase name="a"><failure message="m">x.py:3</failure></testcase></testsuites>`))
	f.Add([]byte(`<testsuite><testsuite name="n"><testcase name="b"><skipped/></testcase></testsuite></testsuite>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		res, err := ParseJUnit(data)
		if err != nil {
			return
		}
		countsAgree(t, res, Build(res, Input{Format: factory.FormatJUnit}))
	})
}

func FuzzParseGoJSON(f *testing.F) {
	f.Add([]byte(`{"Action":"run","Package":"p","Test":"T/a"}`+"\n"+`{"Action":"output","Package":"p","Test":"T/a","Output":"panic: x\n"}`), []byte("oops\n"))
	f.Fuzz(func(t *testing.T, stdout, stderr []byte) {
		res := ParseGoJSON(stdout, stderr, false)
		countsAgree(t, res, Build(res, Input{Format: factory.FormatGoJSON}))
	})
}

func TestMarkFlakyPassesFoldedParents(t *testing.T) {
	out := []byte(`{"Action":"run","Package":"p","Test":"TestT"}
{"Action":"run","Package":"p","Test":"TestT/a"}
{"Action":"output","Package":"p","Test":"TestT/a","Output":"    x_test.go:3: want 1, got 2\n"}
{"Action":"fail","Package":"p","Test":"TestT/a","Elapsed":0}
{"Action":"fail","Package":"p","Test":"TestT","Elapsed":0}
{"Action":"run","Package":"p","Test":"TestU"}
{"Action":"output","Package":"p","Test":"TestU","Output":"    x_test.go:9: broken\n"}
{"Action":"fail","Package":"p","Test":"TestU","Elapsed":0}
`)
	res := ParseGoJSON(out, nil, false)
	assert.True(t, res.MarkFlaky("p", "TestT/a"))
	assert.False(t, res.MarkFlaky("p", "TestT/a"), "already passing")
	rep := Build(res, Input{Format: factory.FormatGoJSON, ExitCode: 1})
	assert.Equal(t, factory.TestCounts{Total: 3, Passed: 2, Failed: 1}, rep.Counts)
	assert.Equal(t, []string{"TestU"}, names(rep.Failures))
	assert.Equal(t, []string{"TestT/a"}, names(rep.Flaky))
	assert.Equal(t, "want 1, got 2", rep.Flaky[0].Message)
	assert.Equal(t, map[string]bool{"p.TestU": true}, res.Failing())
}

func TestOutputPathsAreRelativeToTheRoot(t *testing.T) {
	rep := Build(ParseGoJSON(read(t, "go-fixture.json"), nil, false), Input{Format: factory.FormatGoJSON, ExitCode: 1, Root: "/src/fixture"})
	p := byName(t, rep.Failures, "TestPanics")
	assert.Contains(t, p.Output, "\tpanics/panics_test.go:9 +0x28")
	for _, l := range p.Output {
		assert.NotContains(t, l, "/src/fixture/")
	}
}

// A package whose import cannot be found: go reports the missing import
// path as ImportPath, and the failing package in the header line.
func TestGoJSONSetupFailed(t *testing.T) {
	out := []byte(`{"ImportPath":"example.com/nowhere/pkg","Action":"build-output","Output":"# example.com/setup/x\n"}
{"ImportPath":"example.com/nowhere/pkg","Action":"build-output","Output":"x/x.go:3:8: cannot find module providing package example.com/nowhere/pkg: module lookup disabled by GOPROXY=off\n"}
{"ImportPath":"example.com/nowhere/pkg","Action":"build-fail"}
{"Action":"start","Package":"example.com/setup/x"}
{"Action":"output","Package":"example.com/setup/x","Output":"FAIL\texample.com/setup/x [setup failed]\n"}
{"Action":"fail","Package":"example.com/setup/x","Elapsed":0,"FailedBuild":"example.com/nowhere/pkg"}
`)
	rep := Build(ParseGoJSON(out, []byte("go: finding module for package example.com/nowhere/pkg\n"), false), Input{Format: factory.FormatGoJSON, ExitCode: 1})
	assert.Equal(t, factory.TestError, rep.Status)
	require.Len(t, rep.BuildErrors, 1)
	be := rep.BuildErrors[0]
	assert.Equal(t, "example.com/setup/x", be.Package)
	assert.Equal(t, "x/x.go", be.File)
	assert.Equal(t, 3, be.Line)
	assert.Equal(t, "cannot find module providing package example.com/nowhere/pkg: module lookup disabled by GOPROXY=off", be.Message)
	assert.Empty(t, rep.Failures, "a package that did not build is no crash")
}

// countsAgree checks the counts' promises: they add up, and failed is the
// number of test failures listed (crashes outside tests are not tests).
func countsAgree(t *testing.T, res *Result, rep factory.TestReport) {
	t.Helper()
	if rep.Counts.Total != rep.Counts.Passed+rep.Counts.Failed+rep.Counts.Skipped {
		t.Fatalf("counts do not add up: %+v", rep.Counts)
	}
	listed := 0
	for _, f := range rep.Failures {
		listed += max(f.Count, 1)
	}
	if rep.Counts.Failed != listed-len(res.Crashes) {
		t.Fatalf("counts.failed %d, but %d test failures listed", rep.Counts.Failed, listed-len(res.Crashes))
	}
}

// Seventeen subtests broken by one cause: one entry, counted seventeen times.
func TestIdenticalFailuresAreGrouped(t *testing.T) {
	var b strings.Builder
	for i := 0; i < 17; i++ {
		n := fmt.Sprintf("TestTable/case_%02d", i)
		fmt.Fprintf(&b, `{"Action":"run","Package":"p","Test":%q}`+"\n", n)
		fmt.Fprintf(&b, `{"Action":"output","Package":"p","Test":%q,"Output":"    t_test.go:9: dial tcp: connection refused\n"}`+"\n", n)
		fmt.Fprintf(&b, `{"Action":"fail","Package":"p","Test":%q,"Elapsed":0}`+"\n", n)
	}
	b.WriteString(`{"Action":"run","Package":"p","Test":"TestOther"}
{"Action":"output","Package":"p","Test":"TestOther","Output":"    t_test.go:30: dial tcp: connection refused\n"}
{"Action":"fail","Package":"p","Test":"TestOther","Elapsed":0}
{"Action":"fail","Package":"p","Test":"TestTable","Elapsed":0}
{"Action":"fail","Package":"p","Elapsed":0}
`)
	res := ParseGoJSON([]byte(b.String()), nil, false)
	rep := Build(res, Input{Format: factory.FormatGoJSON, ExitCode: 1})
	countsAgree(t, res, rep)
	require.Len(t, rep.Failures, 2, "the table's 17 are one entry; the same message elsewhere is another")
	g := rep.Failures[0]
	assert.Equal(t, "TestTable/case_00", g.Name)
	assert.Equal(t, 17, g.Count)
	assert.Len(t, g.Tests, 16)
	assert.Len(t, g.AllTests, 17)
	assert.Equal(t, g.AllTests, g.Names())
	assert.Equal(t, 18, rep.Counts.Failed)
	assert.Zero(t, rep.Failures[1].Count, "a single failure has no count")
}
