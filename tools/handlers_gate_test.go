package tools_test

import (
	"context"
	"strings"
	"testing"

	"github.com/factory-dev/factory"
	"github.com/factory-dev/factory/invariants"
	"github.com/factory-dev/factory/invariants/rules"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func gateCases() map[string][]handlerCase {
	return map[string][]handlerCase{
		"invariant_list": {
			{name: "as committed", setup: func(t *testing.T, e *env) map[string]any {
				write(t, e.dir, "factory.yaml", envConfig+"  - {id: only-in-the-working-copy, expr: \"true\"}\n")
				return map[string]any{}
			}, check: func(t *testing.T, e *env, got map[string]any) {
				var ids []string
				for _, inv := range field(got, "invariants").([]any) {
					ids = append(ids, inv.(map[string]any)["id"].(string))
				}
				assert.Contains(t, ids, "tests-pass")
				assert.NotContains(t, ids, "only-in-the-working-copy", "the rules are the committed ones")
				assert.Equal(t, rules.UncommittedNote, str(got, "config_note"))
			}},
			{name: "unknown field", setup: args(map[string]any{"all": true}), want: "bad arguments"},
		},
		"invariant_check": {
			{name: "passed", setup: func(t *testing.T, e *env) map[string]any {
				s := e.snapshot(t, "")
				e.gate.check = invariants.CheckResult{Snapshot: s.ID, Config: "c", Passed: true,
					Verdicts: []factory.Verdict{{ID: "tests-pass", Status: factory.VerdictPass, Message: "0 failed"}}}
				return map[string]any{"snapshot": s.ID, "no_cache": true}
			}, check: func(t *testing.T, e *env, got map[string]any) {
				assert.Equal(t, true, field(got, "passed"))
				require.Len(t, e.gate.checked, 1)
				assert.Equal(t, invariants.CheckRequest{Snapshot: str(got, "snapshot"), NoCache: true}, e.gate.checked[0])
				assert.True(t, e.recorded(str(got, "snapshot")))
				vs, err := e.store.Verdicts(context.Background(), e.runID)
				require.NoError(t, err)
				assert.Len(t, vs, 1)
			}},
			{name: "unknown snapshot", setup: func(t *testing.T, e *env) map[string]any {
				e.gate.checkErr = factory.Errorf(factory.ENOTFOUND, "snapshot s-0 is unknown; list them with snapshot_list")
				e.gate.check = invariants.CheckResult{Verdicts: []factory.Verdict{{ID: "partial", Status: factory.VerdictFail}}}
				return map[string]any{"snapshot": "s-0"}
			}, want: "list them with snapshot_list", check: func(t *testing.T, e *env, _ map[string]any) {
				vs, err := e.store.Verdicts(context.Background(), e.runID)
				require.NoError(t, err)
				assert.Empty(t, vs, "a check that failed has no verdicts to keep")
			}},
			{name: "no_cache of the wrong type", setup: args(map[string]any{"no_cache": "yes"}), want: "bad arguments"},
		},
		"test_run": {
			{name: "passes", setup: args(map[string]any{}), check: func(t *testing.T, e *env, got map[string]any) {
				assert.Equal(t, "unit", str(got, "suite"))
				id := str(got, "id")
				assert.Equal(t, "factory://blobs/"+id, str(got, "log"))
				kind, data, err := e.store.Blob(context.Background(), id)
				require.NoError(t, err)
				assert.Equal(t, "test-log", kind)
				assert.Contains(t, string(data), "all good")
				rep, _, err := e.store.TestRun(context.Background(), id)
				require.NoError(t, err, "the test run is in the run log")
				assert.Equal(t, "unit", rep.Suite)
			}},
			{name: "too many reruns", setup: args(map[string]any{"reruns": 11}), want: "at most 10 reruns of each failure"},
			{name: "unknown suite", setup: args(map[string]any{"suite": "nope"}), want: `no suite "nope"; factory.yaml has [unit]`},
		},
	}
}

func traceCases() map[string][]handlerCase {
	return map[string][]handlerCase{
		"run_start": {
			{name: "named", setup: args(map[string]any{"name": "fix the flake", "workflow": "investigate"}), check: func(t *testing.T, e *env, got map[string]any) {
				assert.Equal(t, "fix the flake", str(got, "run", "name"))
				assert.Equal(t, "investigate", str(got, "run", "workflow"))
			}},
			{name: "unknown workflow", setup: args(map[string]any{"name": "x", "workflow": "sideways"}), want: "use forward or investigate, or leave it out"},
			{name: "blank name", setup: args(map[string]any{"name": "  "}), want: "name is empty; give the run a short name"},
		},
		"trace_note": {
			{name: "a plan", setup: args(map[string]any{"text": "plan: the zebra crossing", "kind": "plan"}), check: func(t *testing.T, e *env, got map[string]any) {
				assert.Equal(t, "plan", str(got, "message", "kind"))
				_, _, msgs, err := e.store.Run(context.Background(), e.runID)
				require.NoError(t, err)
				require.Len(t, msgs, 1)
				assert.Equal(t, "plan: the zebra crossing", msgs[0].Text)
			}},
			{name: "unknown kind", setup: args(map[string]any{"text": "x", "kind": "gossip"}), want: "use plan, decision or observation"},
			{name: "empty text", setup: args(map[string]any{"text": ""}), want: "text is empty; write the note in text"},
		},
		"trace_query": {
			{name: "this run's messages, clipped", setup: func(t *testing.T, e *env) map[string]any {
				_, err := e.store.AddMessage(context.Background(), factory.Message{RunID: e.runID, Kind: factory.NotePlan, Text: strings.Repeat("é", 800)})
				require.NoError(t, err)
				return map[string]any{"kind": "messages", "run": "current", "since": "1h"}
			}, check: func(t *testing.T, e *env, got map[string]any) {
				msgs := field(got, "messages").([]any)
				require.Len(t, msgs, 1)
				text := msgs[0].(map[string]any)["text"].(string)
				assert.Equal(t, strings.Repeat("é", 500)+"…", text, "cut at 1000 bytes, on a rune boundary")
			}},
			{name: "since that is neither", setup: args(map[string]any{"since": "yesterday"}), want: "neither an RFC 3339 time"},
		},
		"doctor": {
			{name: "reports", setup: args(map[string]any{}), check: func(t *testing.T, e *env, got map[string]any) {
				assert.Equal(t, "test", str(got, "version"))
				var names []string
				for _, c := range field(got, "checks").([]any) {
					names = append(names, c.(map[string]any)["name"].(string))
				}
				assert.Subset(t, names, []string{"git", "workspace", "run log", "sandbox", "config"})
			}},
			{name: "unknown field", setup: args(map[string]any{"verbose": true}), want: "bad arguments"},
		},
	}
}
