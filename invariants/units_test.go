package invariants

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/factory-dev/factory"
	"github.com/factory-dev/factory/invariants/benchstat"
	"github.com/factory-dev/factory/invariants/gates"
	"github.com/factory-dev/factory/invariants/rules"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The added lines found in git's own diff are exactly the lines of the new
// files that git blame attributes to the change.
func TestAddedLinesAgreeWithGit(t *testing.T) {
	repo := newRepo(t, map[string]string{
		"a.txt":         "one\ntwo\nthree\nfour\nfive\nsix\nseven\n",
		"gone.txt":      "x\n",
		"weird +++.txt": "+++ not a header\n",
	})
	writeFiles(t, repo, map[string]string{
		"a.txt":         "zero\none\ntwo\n+++ b/fake\nfour\nfive\nsix\nseven\neight\n",
		"new/b.txt":     "b1\n\nb3\n",
		"weird +++.txt": "+++ not a header\n++ added\n",
	})
	require.NoError(t, os.Remove(filepath.Join(repo, "gone.txt")))
	gitIn(t, repo, nil, "add", "-A")
	patch, err := gitTry(repo, nil, nil, "diff", "--cached")
	require.NoError(t, err)
	got := map[string]bool{}
	for _, l := range gates.AddedLines(patch + "\n") {
		got[fmt.Sprintf("%s:%d:%s", l.Path, l.Line, l.Text)] = true
	}
	// reference: lines of the new version not present at the same place
	// before, from git diff's own --unified=0 numbering
	gitIn(t, repo, nil, "commit", "-q", "-m", "change")
	want := map[string]bool{}
	for _, path := range []string{"a.txt", "new/b.txt", "weird +++.txt"} {
		blame := gitIn(t, repo, nil, "blame", "-s", "-l", "--", path)
		head := gitIn(t, repo, nil, "rev-parse", "HEAD")
		for _, line := range strings.Split(blame, "\n") {
			// "<sha> <n>) <text>"
			m := regexp.MustCompile(`^\^?([0-9a-f]+) +(\d+)\) ?(.*)$`).FindStringSubmatch(line)
			require.NotNil(t, m, line)
			if strings.HasPrefix(head, m[1]) {
				n, _ := strconv.Atoi(m[2])
				want[fmt.Sprintf("%s:%d:%s", path, n, m[3])] = true
			}
		}
	}
	assert.Equal(t, want, got)
}

// runnerViews are the two ways a runner may show a command its tree: at
// the tree's own path, and at another path (as the sandbox's MountAs does).
func runnerViews() map[string]func() *execRunner {
	return map[string]func() *execRunner{
		"at the copy's path": func() *execRunner { return &execRunner{} },
		"at another path":    func() *execRunner { return &execRunner{view: true} },
	}
}

// The coverage gate's total agrees with `go tool cover -func`.
func TestCoverageAgreesWithGoToolCover(t *testing.T) {
	for name, runner := range runnerViews() {
		t.Run(name, func(t *testing.T) {
			repo := repoFrom(t, "testdata/shop")
			r := gates.NewTree(runner(), repo, "", &rules.Config{}, nil)
			o := r.Run(context.Background(), rules.Gate{Name: "cover", Kind: rules.GateCoverage})
			require.Empty(t, o.Err)
			f := o.Facts.(gates.CoverageFacts)
			cmd := exec.Command("go", "tool", "cover", "-func="+gates.CoverFile)
			cmd.Dir = repo
			out, err := cmd.Output()
			require.NoError(t, err)
			m := regexp.MustCompile(`total:\s+\(statements\)\s+([0-9.]+)%`).FindSubmatch(out)
			require.NotNil(t, m, string(out))
			want, _ := strconv.ParseFloat(string(m[1]), 64)
			assert.InDelta(t, want, f.Total, 0.05)
			assert.Len(t, f.Packages, 3)
			assert.Contains(t, f.Packages, "example.com/shop/price")
			assert.Greater(t, f.Statements, 0)
		})
	}
}

// The bench gate compiles the test binaries into the tree and runs them in
// their package directories, wherever the runner shows the tree: every
// round yields one sample of the example's benchmark.
func TestBenchGateRunsWhereverTheTreeIsShown(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs benchmarks")
	}
	for name, runner := range runnerViews() {
		t.Run(name, func(t *testing.T) {
			repo := repoFrom(t, "../examples/gates")
			r := gates.NewTree(runner(), repo, "", &rules.Config{}, nil)
			o := r.Run(context.Background(), rules.Gate{Name: "bench", Kind: rules.GateBench, Packages: []string{"./..."}, Count: 2, Benchtime: "20x"})
			require.Empty(t, o.Err)
			f := o.Facts.(benchstat.BenchFacts)
			require.Contains(t, f.Benchmarks, "BenchmarkChecksum")
			assert.Equal(t, 2, f.Benchmarks["BenchmarkChecksum"].N)
			_, err := os.Stat(filepath.Join(repo, gates.BenchDir, "0.test"))
			assert.NoError(t, err, "the binary is in the tree the runner was given")
		})
	}
}

func TestParseBenchAndCompare(t *testing.T) {
	var base, slow bytes.Buffer
	fmt.Fprintln(&base, "goos: linux\npkg: example.com/x")
	fmt.Fprintln(&slow, "goos: linux\npkg: example.com/x")
	for i := 0; i < 10; i++ {
		fmt.Fprintf(&base, "BenchmarkA-8\t1000\t%d ns/op\nBenchmarkB/size=1-8\t1000\t%d ns/op\n", 1000+i, 500+i)
		fmt.Fprintf(&slow, "BenchmarkA-8\t1000\t%d ns/op\nBenchmarkB/size=1-8\t1000\t%d ns/op\n", 1300+i, 500+(9-i))
	}
	fb, err := benchstat.Parse(base.Bytes())
	require.NoError(t, err)
	fs, err := benchstat.Parse(slow.Bytes())
	require.NoError(t, err)
	require.Contains(t, fb.Benchmarks, "BenchmarkA")
	require.Contains(t, fb.Benchmarks, "BenchmarkB/size=1")
	assert.Equal(t, 10, fb.Benchmarks["BenchmarkA"].N)
	assert.InDelta(t, 1004.5, fb.Benchmarks["BenchmarkA"].Center, 0.01)
	cmp := benchstat.Compare(fs, fb).Compare
	assert.True(t, cmp["BenchmarkA"].Significant)
	assert.InDelta(t, (1304.5/1004.5-1)*100, cmp["BenchmarkA"].DeltaPct, 0.01)
	assert.False(t, cmp["BenchmarkB/size=1"].Significant, "same samples")
	v := evalMaxRegression(&compiled{Invariant: rules.Invariant{ID: "fast", Bench: "Benchmark*", Percent: 15}}, benchstat.Compare(fs, fb))
	assert.Equal(t, factory.VerdictFail, v.Status)
	require.Len(t, v.Evidence, 1)
	assert.Contains(t, v.Evidence[0], "BenchmarkA: 1.004µs -> 1.304µs (+29.9%, 99% interval +29.4% to +30.4%, p=0.000, n=10+10, mann-whitney)")
	v = evalMaxRegression(&compiled{Invariant: rules.Invariant{ID: "fast", Bench: "BenchmarkB*", Percent: 15}}, benchstat.Compare(fs, fb))
	assert.Equal(t, factory.VerdictPass, v.Status)
	v = evalMaxRegression(&compiled{Invariant: rules.Invariant{ID: "fast", Bench: "BenchmarkZ", Percent: 15}}, benchstat.Compare(fs, fb))
	assert.Equal(t, factory.VerdictError, v.Status)
}

func TestPackagePatterns(t *testing.T) {
	for _, tc := range []struct {
		pat, path string
		want      bool
	}{
		{"./ui/...", "m/ui", true},
		{"./ui/...", "m/ui/x", true},
		{"./ui/...", "m/uix", false},
		{"./ui", "m/ui/x", false},
		{".", "m", true},
		{"./...", "m/any", true},
		{"net/...", "net/http", true},
		{"net/http", "net/http/pprof", false},
		{"github.com/mark3labs/mcp-go/...", "github.com/mark3labs/mcp-go/server", true},
	} {
		assert.Equal(t, tc.want, pkgPattern("m", tc.pat).MatchString(tc.path), "%s ~ %s", tc.pat, tc.path)
	}
}

// The import gate's graph agrees with go list's own, and each edge points at
// the import line, file names relative to the tree wherever the runner
// shows it.
func TestImportsGateAgreesWithGoList(t *testing.T) {
	for name, runner := range runnerViews() {
		t.Run(name, func(t *testing.T) {
			repo := repoFrom(t, "../examples/gates")
			r := gates.NewTree(runner(), repo, "", &rules.Config{}, nil)
			o := r.Run(context.Background(), rules.Gate{Name: "imports", Kind: rules.GateGoImports})
			require.Empty(t, o.Err)
			f := o.Facts.(gates.ImportsFacts)
			assert.Equal(t, "example.com/gates", f.Module)
			cmd := exec.Command("go", "list", "-f", `{{range .Imports}}{{$.ImportPath}} {{.}}{{"\n"}}{{end}}`, "./...")
			cmd.Dir = repo
			out, err := cmd.Output()
			require.NoError(t, err)
			var want, got []string
			for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
				want = append(want, l)
			}
			for _, e := range f.Edges {
				got = append(got, e.From+" "+e.To)
				file, line, ok := strings.Cut(e.Pos, ":")
				require.True(t, ok, e.Pos)
				require.True(t, filepath.IsLocal(file), e.Pos)
				n, _ := strconv.Atoi(line)
				lines := strings.Split(fileText(t, filepath.Join(repo, file)), "\n")
				assert.Contains(t, lines[n-1], `"`+e.To+`"`, e.Pos)
			}
			assert.ElementsMatch(t, want, got)
			assert.NotEmpty(t, got)
		})
	}
}

func TestFormatTable(t *testing.T) {
	var b bytes.Buffer
	require.NoError(t, FormatTable(&b, []factory.Verdict{
		{ID: "tests-pass", Status: factory.VerdictPass, Message: "tests.failed == 0", Duration: 1500 * time.Millisecond},
		{ID: "layering", Status: factory.VerdictFail, Message: "1 denied import(s)", Evidence: []string{"ui/ui.go:9: a imports b"}},
		{ID: "fast", Status: factory.VerdictSkipped, Message: "needs a baseline", Evidence: []string{"hidden"}},
	}))
	out := b.String()
	assert.Regexp(t, `(?m)^INVARIANT\s+STATUS\s+TIME\s+MESSAGE$`, out)
	assert.Regexp(t, `(?m)^tests-pass\s+PASS\s+1\.5s\s+tests\.failed == 0$`, out)
	assert.Regexp(t, `(?m)^layering\s+FAIL\s+0s\s+1 denied import\(s\)$`, out)
	assert.Regexp(t, `(?m)^\s+ui/ui\.go:9: a imports b$`, out)
	assert.NotContains(t, out, "hidden", "evidence of passing and skipped verdicts is left out")
	assert.True(t, strings.HasSuffix(out, "1 passed, 1 failed, 0 errors, 1 skipped\n"), out)
}

func TestDescribe(t *testing.T) {
	cfg, err := rules.Parse("factory.yaml", []byte(sketch))
	require.NoError(t, err)
	d := Describe(cfg)
	require.Len(t, d.Gates, 3)
	assert.Equal(t, GateInfo{Name: "vet", Kind: rules.GateCommand, Detail: "go vet ./..."}, d.Gates[1])
	require.Len(t, d.Invariants, 7)
	assert.Equal(t, InvariantInfo{ID: ImplicitProtectID, Kind: rules.InvProtect, Detail: "factory.yaml", Gates: []string{"diff"}, Implicit: true}, d.Invariants[0])
	assert.Equal(t, InvariantInfo{ID: "no-new-skips", Kind: rules.InvExpr, Detail: "tests.skipped <= baseline.tests.skipped", Gates: []string{"tests"}, Baseline: true}, d.Invariants[5])
	assert.True(t, d.Invariants[5].Baseline)
	assert.Equal(t, []string{"tests"}, d.Invariants[5].Gates)
	assert.Equal(t, "tests"+ImpliedRanSuffix, d.Invariants[6].ID, "every suite gate implies that its declared tests ran")
	assert.Equal(t, []string{"tests"}, d.Invariants[6].Gates)
}

// factory's own factory.yaml parses, and its layering rules hold on the
// repository as it is (go list on the real module, read-only). It reads the
// file at the repository root, not a copy, so the rules it checks are the
// ones `make check` enforces.
func TestSelfConfigLayeringHoldsToday(t *testing.T) {
	if testing.Short() {
		t.Skip("lists every package of the module")
	}
	cfg, err := rules.Load("../factory.yaml")
	require.NoError(t, err)
	p := newPlan(cfg)
	root, err := filepath.Abs("..")
	require.NoError(t, err)
	r := gates.NewTree(&execRunner{}, root, "", cfg, nil)
	facts := gates.TreeFacts{"imports": r.Run(context.Background(), *p.gate("imports"))}
	require.Empty(t, facts["imports"].Err)
	assert.Equal(t, "github.com/factory-dev/factory", facts["imports"].Facts.(gates.ImportsFacts).Module)
	n := 0
	for _, c := range p.invs {
		assert.Empty(t, c.bad, c.ID)
		if c.Kind == rules.InvDenyImports {
			n++
			v := p.evaluate(c, evalInput{facts: facts})
			assert.Equal(t, factory.VerdictPass, v.Status, "%s: %s %v", c.ID, v.Message, v.Evidence)
		}
	}
	assert.GreaterOrEqual(t, n, 16, "every layering rule of factory.yaml is evaluated")

	// and the rules bite: an edge from sandbox to invariants is denied
	f := facts["imports"].Facts.(gates.ImportsFacts)
	f.Edges = append(f.Edges, gates.ImportEdge{From: "github.com/factory-dev/factory/sandbox", To: "github.com/factory-dev/factory/invariants", Pos: "sandbox/x.go:3"})
	for _, c := range p.invs {
		if c.ID == "sandbox-alone" {
			v := p.evaluate(c, evalInput{facts: gates.TreeFacts{"imports": {Facts: f}}})
			assert.Equal(t, factory.VerdictFail, v.Status)
			assert.Equal(t, []string{"sandbox/x.go:3: github.com/factory-dev/factory/sandbox imports github.com/factory-dev/factory/invariants"}, v.Evidence)
		}
	}
}
