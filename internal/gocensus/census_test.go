package gocensus

import (
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// mapView is a View of files held in memory.
type mapView map[string]string

func (m mapView) Paths() []string {
	var out []string
	for p := range m {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

func (m mapView) ReadFile(p string) ([]byte, error) {
	c, ok := m[p]
	if !ok {
		return nil, fs.ErrNotExist
	}
	return []byte(c), nil
}

var module = mapView{
	"go.mod":               "module example.com/m\n\ngo 1.22\n",
	"a/a_test.go":          "package a\n\nimport \"testing\"\n\nfunc TestOne(t *testing.T) {}\nfunc TestTwo(t *testing.T) { t.Run(\"sub\", func(*testing.T) {}) }\nfunc Testlower(t *testing.T) {}\nfunc TestMain(m *testing.M) { m.Run() }\nfunc helper(t *testing.T) {}\nfunc FuzzF(f *testing.F) {}\nfunc BenchmarkB(b *testing.B) {}\ntype x struct{}\nfunc (x) TestMethod(t *testing.T) {}\n",
	"a/x_test.go":          "package a_test\n\nimport (\n\t\"fmt\"\n\tT \"testing\"\n)\n\nfunc TestAlias(t *T.T) {}\nfunc ExampleOut() {\n\tfmt.Println(1)\n\t// Output: 1\n}\nfunc ExampleNoOutput() { fmt.Println(1) }\n",
	"a/tag_test.go":        "//go:build never\n\npackage a\n\nimport \"testing\"\n\nfunc TestTagged(t *testing.T) {}\n",
	"a/os_plan9_test.go":   "package a\n\nimport \"testing\"\n\nfunc TestPlan9(t *testing.T) {}\n",
	"a/b/b_test.go":        "package b\n\nimport \"testing\"\n\nfunc TestB(t *testing.T) {}\n",
	"a/testdata/t_test.go": "package t\n\nimport \"testing\"\n\nfunc TestData(t *testing.T) {}\n",
	"nested/go.mod":        "module example.com/nested\n",
	"nested/n_test.go":     "package n\n\nimport \"testing\"\n\nfunc TestNested(t *testing.T) {}\n",
	"broken/x_test.go":     "package broken\n\nfunc TestBroken(t *testing.T) {\n",
}

func keys(c Census) []string {
	var out []string
	for _, t := range c.Tests {
		out = append(out, t.Key())
	}
	return out
}

func TestTakeListsWhatGoTestRuns(t *testing.T) {
	c, err := Take(module, Selection{Patterns: []string{"./..."}})
	require.NoError(t, err)
	assert.Equal(t, []string{"example.com/m/a.ExampleOut", "example.com/m/a.FuzzF", "example.com/m/a.TestAlias",
		"example.com/m/a.TestOne", "example.com/m/a.TestTwo", "example.com/m/a/b.TestB"}, keys(c),
		"no lowercase, helper, benchmark, method, TestMain(*M), example without output, build-excluded, testdata, nested-module or unparsable test")
	assert.Equal(t, "a/a_test.go", c.Tests[3].File)
	assert.Equal(t, 5, c.Tests[3].Line)

	c, err = Take(module, Selection{Patterns: []string{"./a"}, Tags: []string{"never"}})
	require.NoError(t, err)
	assert.Contains(t, keys(c), "example.com/m/a.TestTagged", "-tags admits the file")
	assert.NotContains(t, keys(c), "example.com/m/a/b.TestB", "./a is one package")

	c, err = Take(module, Selection{Patterns: []string{"example.com/m/a/..."}, Run: "^Test(One|B)$|Ex/sub", Skip: "TestB"})
	require.NoError(t, err)
	assert.Equal(t, []string{"example.com/m/a.ExampleOut", "example.com/m/a.TestOne"}, keys(c), "-run alternatives select by their first level; a one-level -skip drops")

	c, err = Take(module, Selection{Patterns: []string{"./..."}, Skip: "TestOne/sub"})
	require.NoError(t, err)
	assert.Contains(t, keys(c), "example.com/m/a.TestOne", "a two-level -skip skips subtests only")

	c, err = Take(module, Selection{Patterns: []string{"./..."}, List: true})
	require.NoError(t, err)
	assert.Empty(t, c.Tests, "-list runs nothing")
}

func TestTakeRefusesWhatItCannotFollow(t *testing.T) {
	for _, sel := range []Selection{
		{Patterns: []string{"std"}},
		{Patterns: []string{"./../x"}},
		{Dir: "nowhere"},
		{Run: "("},
	} {
		_, err := Take(module, sel)
		assert.Error(t, err, "%+v", sel)
	}
}

func TestParseGoTest(t *testing.T) {
	sel, why := ParseGoTest([]string{"go", "test", "-json", "-run", "^TestA$", "-tags=a,b", "-count", "1", "./x/...", "-args", "./y"}, map[string]string{"GOFLAGS": "-skip=TestB"})
	require.Empty(t, why)
	assert.Equal(t, Selection{Patterns: []string{"./x/..."}, Run: "^TestA$", Skip: "TestB", Tags: []string{"a", "b"}, Env: map[string]string{"GOFLAGS": "-skip=TestB"}}, sel)
	sel, why = ParseGoTest([]string{"/usr/local/go/bin/go", "-C", "sub", "test", "./..."}, nil)
	require.Empty(t, why)
	assert.Equal(t, "sub", sel.Dir)
	for _, argv := range [][]string{{"make", "test"}, {"go", "vet", "./..."}, {"gotestsum", "--", "./..."}, {"go", "-C", "../up", "test"}} {
		_, why := ParseGoTest(argv, nil)
		assert.NotEmpty(t, why, argv)
	}
}

func TestNoCache(t *testing.T) {
	assert.Equal(t, []string{"go", "test", "-count=1", "-json", "./..."}, NoCache([]string{"go", "test", "-json", "./..."}))
	assert.Equal(t, []string{"go", "test", "-count", "3", "./..."}, NoCache([]string{"go", "test", "-count", "3", "./..."}), "any -count already disables the cache")
	assert.Equal(t, []string{"go", "test", "-count=1", "./...", "-args", "-count=2"}, NoCache([]string{"go", "test", "./...", "-args", "-count=2"}), "-args belong to the binary")
	assert.Equal(t, []string{"make", "test"}, NoCache([]string{"make", "test"}))
	assert.Equal(t, "-mod=mod -count=1", NoCacheGOFLAGS("-mod=mod"))
	assert.Equal(t, "-count=2", NoCacheGOFLAGS("-count=2"))
}

func TestScanFindsForgery(t *testing.T) {
	src := `package a

import (
	"flag"
	"fmt"
	"os"
	"testing"
)

const pass = "--- PASS: %s\n"

var _ = func() int { os.Exit(0); return 0 }()

func init() {
	fmt.Printf(pass, "TestX")
	os.Args = append(os.Args, "-test.run=^$")
}

func TestMain(m *testing.M) {
	flag.Set("test.run", "^$")
	if os.Getenv("X") == "" {
		os.Exit(0)
	}
}

func TestPrints(t *testing.T) {
	os.Stdout.WriteString("{\"Action\":\"pass\"}\n")
	fmt.Println("\x16=== RUN TestY")
	os.Args = []string{"prog"} // a CLI test: not before the tests run
	parse([]byte("--- PASS: TestZ")) // a parser's input, not output
}

func parse([]byte) {}
`
	var got []string
	for _, f := range Scan("a/a_test.go", []byte(src)) {
		got = append(got, f.String()+map[bool]string{true: " [forges]", false: ""}[f.Forges])
	}
	assert.Equal(t, []string{
		"a/a_test.go:12: a package-level initializer calls os.Exit: the test binary exits before any test runs [forges]",
		`a/a_test.go:15: writes go test's framing marker "--- PASS": output that makes tests look run [forges]`,
		"a/a_test.go:16: assigns os.Args before the tests run: changes which tests the binary runs [forges]",
		"a/a_test.go:19: TestMain never calls m.Run: no test of this package runs",
		"a/a_test.go:22: TestMain calls os.Exit before m.Run: the tests never run",
		"a/a_test.go:20: sets the testing flag -test.run: changes which tests the binary runs [forges]",
		`a/a_test.go:27: writes go test's framing marker "\"Action\"": output that makes tests look run [forges]`,
		`a/a_test.go:28: writes go test's framing marker "=== RUN": output that makes tests look run [forges]`,
		"a/a_test.go:28: holds the ^V byte that marks go test's framing lines for test2json [forges]",
	}, got)

	clean := "package a\n\nimport (\n\t\"os\"\n\t\"testing\"\n)\n\nfunc TestMain(m *testing.M) { os.Exit(m.Run()) }\n"
	assert.Empty(t, Scan("a/main_test.go", []byte(clean)), "the usual TestMain")
	assert.Empty(t, Scan("a/a.go", []byte("package a\n\nimport \"fmt\"\n\nfunc Report() { fmt.Println(\"--- PASS: x\") }\n")), "the code under test may print anything outside init")
}

// The scan has no false positive on factory's own Go files: none forges.
func TestScanIsQuietOnThisRepository(t *testing.T) {
	root := filepath.Join("..", "..")
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "testdata" || d.Name() == ".git") {
			return filepath.SkipDir
		}
		// tamper.go and census_test.go name the markers to find them;
		// sandbox/report's tests feed the parser go test's own output. Each
		// is flagged if a change edits it, as it should be: such an edit is
		// for a person to review (a buffer's content can reach stdout later,
		// so writes to a buffer are not exempt).
		if d.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "tamper.go") || strings.HasSuffix(p, "census_test.go") ||
			strings.HasSuffix(filepath.ToSlash(p), "sandbox/report/report_test.go") {
			return nil
		}
		src, err := os.ReadFile(p)
		require.NoError(t, err)
		for _, f := range Scan(p, src) {
			assert.False(t, f.Forges, "%s", f)
		}
		return nil
	})
	require.NoError(t, err)
}
