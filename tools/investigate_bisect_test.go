package tools_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/factory-dev/factory/internal/gittest"
	"github.com/factory-dev/factory/traces"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// commitStates commits state.txt once per state, with a suite that passes
// while state.txt says ok, and returns the commits, oldest first.
func commitStates(t *testing.T, e *env, states ...string) []string {
	t.Helper()
	write(t, e.dir, "factory.yaml", strings.Replace(envConfig, `[sh, -c, "echo all good"]`, `[sh, -c, "grep -qx fine state.txt"]`, 1))
	var out []string
	for i, s := range states {
		write(t, e.dir, "state.txt", s+"\n")
		gittest.Run(t, e.dir, "add", "-A")
		gittest.Run(t, e.dir, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "--allow-empty", "-qm", fmt.Sprintf("step %d", i))
		out = append(out, strings.TrimSpace(gittest.Run(t, e.dir, "rev-parse", "HEAD")))
	}
	return out
}

func investigateCases() map[string][]handlerCase {
	return map[string][]handlerCase{
		"regression_find": {
			{name: "finds the commit", setup: func(t *testing.T, e *env) map[string]any {
				cs := commitStates(t, e, "fine", "fine", "fine", "broken", "broken", "broken")
				return map[string]any{"good": cs[0], "bad": "HEAD"}
			}, check: func(t *testing.T, e *env, got map[string]any) {
				assert.Equal(t, "step 3", str(got, "first_bad", "subject"))
				assert.Equal(t, "step 2", str(got, "last_good", "subject"))
				assert.Contains(t, str(got, "diff", "patch"), "+broken")
				assert.LessOrEqual(t, len(field(got, "probes").([]any)), 5)
				page, err := e.store.Query(context.Background(), traces.Query{Kind: traces.KindSnapshots, Text: "probe"})
				require.NoError(t, err)
				assert.NotEmpty(t, page.Snapshots, "the snapshots probes ran on are in the run log")
			}},
			{name: "no good", setup: args(map[string]any{"bad": "HEAD"}), want: "good is required"},
			{name: "unknown good", setup: args(map[string]any{"good": "nope"}), want: `nope: no such revision`},
		},
		"flaky_check": {
			{name: "passing suite", setup: args(map[string]any{"runs": 3}), check: func(t *testing.T, e *env, got map[string]any) {
				assert.EqualValues(t, 3, field(got, "runs"))
			}},
			{name: "too many runs", setup: args(map[string]any{"runs": 101}), want: "runs 101: give 1 to 100"},
		},
	}
}

// TestRegressionFindOverSnapshots searches the snapshots made between
// good and bad, in the order they were made.
func TestRegressionFindOverSnapshots(t *testing.T) {
	e := newEnv(t)
	commitStates(t, e, "fine")
	var ids []string
	for _, s := range []string{"fine", "fine 2", "broken", "broken 2"} {
		state := "fine"
		if strings.HasPrefix(s, "broken") {
			state = "broken"
		}
		write(t, e.dir, "state.txt", state+"\n")
		write(t, e.dir, "n.txt", s+"\n")
		ids = append(ids, e.snapshot(t, s).ID)
	}
	got, toolErr := e.call(t, "regression_find", map[string]any{"good": ids[0], "bad": ids[3]})
	require.Empty(t, toolErr)
	assert.Equal(t, ids[2], str(got, "first_bad", "snapshot"))
	assert.Equal(t, ids[1], str(got, "last_good", "snapshot"))

	_, toolErr = e.call(t, "regression_find", map[string]any{"good": ids[3], "bad": ids[0]})
	assert.Contains(t, toolErr, "is not newer than good")
}
