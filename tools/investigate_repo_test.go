package tools_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/factory-dev/factory/internal/gittest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// goSuiteConfig runs the fixture's Go tests.
const goSuiteConfig = `version: 1
suites:
  unit: {run: [go, test, -json, ./...], format: go-json, timeout: 3m}
`

// flakyTestFile fails TestFlaky 30% of the time, from a source seeded by
// the clock: no two runs agree on purpose.
const flakyTestFile = `package lib

import (
	"math/rand"
	"testing"
	"time"
)

func TestFlaky(t *testing.T) {
	if rand.New(rand.NewSource(time.Now().UnixNano())).Float64() < 0.3 {
		t.Fatal("unlucky draw")
	}
}

func TestTarget(t *testing.T) {
	if Value() != 1 {
		t.Fatalf("Value() = %d, want 1", Value())
	}
}
`

// bisectRepo commits 32 commits, "commit 1" to "commit 32": TestTarget
// breaks at commit 19, the package does not build at commits 8 to 10,
// TestFlaky fails 30% of the time throughout. It returns the commits by
// number.
func bisectRepo(t *testing.T, e *env) map[int]string {
	t.Helper()
	write(t, e.dir, "factory.yaml", goSuiteConfig)
	write(t, e.dir, "go.mod", "module example.com/bis\n\ngo 1.21\n")
	write(t, e.dir, "lib_test.go", flakyTestFile)
	commits := map[int]string{}
	for i := 1; i <= 32; i++ {
		value := 1
		if i >= 19 {
			value = 2
		}
		src := fmt.Sprintf("package lib\n\nconst step = %d\n\nfunc Value() int { return %d }\n", i, value)
		if i >= 8 && i <= 10 {
			src += "\nvar broken = undefinedName\n"
		}
		write(t, e.dir, "lib.go", src)
		gittest.Run(t, e.dir, "add", "-A")
		gittest.Run(t, e.dir, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", fmt.Sprintf("commit %d", i))
		commits[i] = strings.TrimSpace(gittest.Run(t, e.dir, "rev-parse", "HEAD"))
	}
	return commits
}

// TestRegressionFindInAGoRepository is the scenario on real go
// test runs: it names commit 19 in 8 probes or fewer, with a 30% flaky
// test in the selection, skipping (never blaming) the unbuildable commits,
// and a repeated search runs nothing.
func TestRegressionFindInAGoRepository(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go test about 30 times")
	}
	e := newEnv(t)
	c := bisectRepo(t, e)
	cases := []struct {
		name string
		args map[string]any
	}{
		{"package narrowing with the flaky test in the selection", map[string]any{"good": c[1], "bad": c[32], "package": "./..."}},
		{"test narrowing over skipped builds", map[string]any{"good": c[1], "bad": c[19], "test": "TestTarget"}},
		{"repeated search", map[string]any{"good": c[1], "bad": c[32], "package": "./..."}},
	}
	for i, tc := range cases {
		start := time.Now()
		got, toolErr := e.call(t, "regression_find", tc.args)
		require.Empty(t, toolErr, tc.name)
		probes := field(got, "probes").([]any)
		t.Logf("%s: %d probes, %s: %v", tc.name, len(probes), time.Since(start).Round(time.Millisecond), probes)
		assert.Equal(t, "commit 19", str(got, "first_bad", "subject"), tc.name)
		assert.Equal(t, c[19], str(got, "first_bad", "commit"), tc.name)
		assert.Equal(t, "commit 18", str(got, "last_good", "subject"), tc.name)
		assert.LessOrEqual(t, len(probes), 8, tc.name)
		assert.Contains(t, str(got, "diff", "patch"), "return 2", tc.name)
		for _, p := range probes {
			p := p.(map[string]any)
			if p["verdict"] == "fail" {
				for _, broken := range []int{8, 9, 10} {
					assert.NotEqual(t, c[broken][:12], p["tree"], "%s: a broken build was blamed", tc.name)
				}
			}
			if i == 2 {
				assert.Equal(t, p["runs"], p["cached"], "a repeated search runs nothing: %v", p)
			}
		}
		if i == 1 {
			assert.Contains(t, fmt.Sprint(probes), "skip", "the search landed on a broken build and skipped it")
		}
	}
}

// TestFlakyCheckInAGoRepository: over 20 runs a coin-flip test is flaky
// with its rate inside its interval, a deterministic failure is failing
// with one grouped message.
func TestFlakyCheckInAGoRepository(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go test 20 times")
	}
	e := newEnv(t)
	write(t, e.dir, "factory.yaml", goSuiteConfig)
	write(t, e.dir, "go.mod", "module example.com/coin\n\ngo 1.21\n")
	write(t, e.dir, "coin_test.go", `package coin

import (
	"math/rand"
	"testing"
	"time"
)

func TestCoin(t *testing.T) {
	if rand.New(rand.NewSource(time.Now().UnixNano())).Intn(2) == 0 {
		t.Fatalf("tails after %d ns", time.Now().UnixNano()%1000)
	}
}

func TestBroken(t *testing.T) { t.Fatal("want 2, got 3") }

func TestFine(t *testing.T) {}
`)
	gittest.Run(t, e.dir, "add", "-A")
	gittest.Run(t, e.dir, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "coin")
	start := time.Now()
	got, toolErr := e.call(t, "flaky_check", map[string]any{"runs": 20, "shuffle": true})
	require.Empty(t, toolErr)
	t.Logf("flaky_check: %s: %v", time.Since(start).Round(time.Millisecond), got)
	byName := map[string]map[string]any{}
	for _, v := range field(got, "tests").([]any) {
		m := v.(map[string]any)
		byName[m["name"].(string)] = m
	}
	coin := byName["example.com/coin.TestCoin"]
	require.NotNil(t, coin, "%v", got)
	rate, iv := coin["fail_rate"].(float64), coin["interval"].([]any)
	if coin["failures"].(float64) > 0 && coin["passes"].(float64) > 0 { // P(all 20 alike) = 2^-19
		assert.Equal(t, "flaky", coin["class"])
	}
	assert.True(t, iv[0].(float64) <= rate && rate <= iv[1].(float64), "rate %v outside %v", rate, iv)
	broken := byName["example.com/coin.TestBroken"]
	require.NotNil(t, broken)
	assert.Equal(t, "failing", broken["class"])
	msgs := broken["messages"].([]any)
	require.Len(t, msgs, 1)
	assert.EqualValues(t, 20, msgs[0].(map[string]any)["count"])
	assert.Equal(t, "passing", byName["example.com/coin.TestFine"]["class"])
}
