package tools_test

import (
	"context"
	"strings"
	"testing"

	"github.com/factory-dev/factory"
	"github.com/factory-dev/factory/internal/attacktest"
	"github.com/factory-dev/factory/invariants"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// handlerCase is one call of one tool in a fresh env. setup prepares the
// workspace and returns the arguments; a case with want expects a tool
// error containing want (what went wrong and what to do next) and the
// workspace exactly as it was; a case without want expects a result that
// fits the output schema, which check inspects with the run log.
type handlerCase struct {
	name  string
	setup func(t *testing.T, e *env) map[string]any
	want  string
	check func(t *testing.T, e *env, got map[string]any)
}

func args(a map[string]any) func(*testing.T, *env) map[string]any {
	return func(*testing.T, *env) map[string]any { return a }
}

const twoToTWO = "--- a/a.txt\n+++ b/a.txt\n@@ -1,3 +1,3 @@\n one\n-two\n+TWO\n three\n"

// handlerCases are the handler tests of every tool, by tool.
func handlerCases() map[string][]handlerCase {
	cases := map[string][]handlerCase{}
	for _, m := range []map[string][]handlerCase{workspaceCases(), changeCases(), gateCases(), traceCases(), revisionCases(), investigateCases(), investigatePerfCases()} {
		for name, cs := range m {
			cases[name] = append(cases[name], cs...)
		}
	}
	return cases
}

// TestHandlers runs every tool's cases; a registered tool without a
// success case and a bad-input case fails it.
func TestHandlers(t *testing.T) {
	cases := handlerCases()
	for _, name := range everyTool {
		var ok, bad bool
		for _, c := range cases[name] {
			ok = ok || c.want == ""
			bad = bad || c.want != ""
		}
		assert.True(t, ok && bad, "%s needs a success case and a bad-input case", name)
	}
	for name, cs := range cases {
		require.Contains(t, everyTool, name, "cases for a tool that is not registered")
		for _, c := range cs {
			t.Run(name+"/"+c.name, func(t *testing.T) {
				e := newEnv(t)
				a := c.setup(t, e)
				before := attacktest.Take(t, e.dir)
				got, toolErr := e.call(t, name, a)
				if c.want != "" {
					require.Nil(t, got, "%s succeeded; want a tool error containing %q", name, c.want)
					assert.Contains(t, toolErr, c.want)
					attacktest.Unchanged(t, before, e.dir)
					if c.check != nil {
						c.check(t, e, nil)
					}
					return
				}
				require.Empty(t, toolErr)
				c.check(t, e, got)
			})
		}
	}
}

func workspaceCases() map[string][]handlerCase {
	return map[string][]handlerCase{
		"snapshot_create": {
			{name: "labelled", setup: args(map[string]any{"label": "start"}), check: func(t *testing.T, e *env, got map[string]any) {
				assert.Equal(t, "start", str(got, "snapshot", "label"))
				assert.True(t, e.recorded(str(got, "snapshot", "id")), "a new snapshot is in the run log")
			}},
			{name: "control character", setup: args(map[string]any{"label": "a\x01b"}), want: "label contains a control character"},
			{name: "misspelt field", setup: args(map[string]any{"lable": "x"}), want: "bad arguments"},
		},
		"snapshot_list": {
			{name: "by label", setup: func(t *testing.T, e *env) map[string]any {
				e.snapshot(t, "listed")
				return map[string]any{"label": "listed", "limit": 500}
			}, check: func(t *testing.T, e *env, got map[string]any) {
				ss := field(got, "snapshots").([]any)
				require.Len(t, ss, 1)
				assert.Equal(t, "listed", ss[0].(map[string]any)["label"])
			}},
			{name: "none is an empty list", setup: args(map[string]any{"label": "nothing"}), check: func(t *testing.T, e *env, got map[string]any) {
				assert.Equal(t, []any{}, field(got, "snapshots"))
			}},
			{name: "limit of the wrong type", setup: args(map[string]any{"limit": "ten"}), want: "bad arguments"},
		},
		"snapshot_diff": {
			{name: "against the live tree", setup: func(t *testing.T, e *env) map[string]any {
				s := e.snapshot(t, "")
				write(t, e.dir, "a.txt", "one\nTWO\nthree\n")
				return map[string]any{"from": s.ID}
			}, check: func(t *testing.T, e *env, got map[string]any) {
				assert.Contains(t, str(got, "patch"), "+TWO")
				assert.Nil(t, field(got, "full_diff"), "nothing was cut")
			}},
			{name: "cut, the whole diff kept", setup: func(t *testing.T, e *env) map[string]any {
				s := e.snapshot(t, "")
				write(t, e.dir, "big.txt", strings.Repeat("a line of the big file\n", 4000))
				return map[string]any{"from": s.ID, "max_bytes": 1024}
			}, check: func(t *testing.T, e *env, got map[string]any) {
				uri := str(got, "full_diff")
				require.True(t, strings.HasPrefix(uri, "factory://blobs/d-"), uri)
				kind, data, err := e.store.Blob(context.Background(), strings.TrimPrefix(uri, "factory://blobs/"))
				require.NoError(t, err)
				assert.Equal(t, "diff", kind)
				assert.Equal(t, 4000, strings.Count(string(data), "+a line of the big file"))
			}},
			{name: "no from", setup: args(map[string]any{}), want: "from is required: a snapshot id from snapshot_list"},
		},
		"snapshot_restore": {
			{name: "undoable", setup: func(t *testing.T, e *env) map[string]any {
				s := e.snapshot(t, "")
				write(t, e.dir, "a.txt", "changed\n")
				return map[string]any{"id": s.ID}
			}, check: func(t *testing.T, e *env, got map[string]any) {
				assert.Equal(t, "one\ntwo\nthree\n", read(t, e.dir, "a.txt"))
				assert.Equal(t, []any{"a.txt"}, field(got, "written"))
				assert.True(t, e.recorded(str(got, "undo")), "the undo snapshot is in the run log")
			}},
			{name: "no id", setup: args(map[string]any{}), want: "id is required: a snapshot id from snapshot_list"},
			{name: "unknown id", setup: func(t *testing.T, e *env) map[string]any {
				write(t, e.dir, "a.txt", "live edit\n")
				return map[string]any{"id": "s-000000"}
			}, want: "s-000000"},
		},
	}
}

func changeCases() map[string][]handlerCase {
	accepted := func(t *testing.T, e *env) map[string]any {
		base := e.snapshot(t, "")
		e.gate.propose = invariants.ProposeResult{Accepted: true, Reason: "every invariant passed", Base: base.ID,
			Verdicts: []factory.Verdict{{ID: "tests-pass", Status: factory.VerdictPass, Message: "0 failed"}}}
		return map[string]any{"patch": twoToTWO, "commit": true, "message": "shout two"}
	}
	rejected := func(t *testing.T, e *env) map[string]any {
		e.gate.propose = invariants.ProposeResult{Reason: "tests-pass failed: 1 failed",
			Verdicts: []factory.Verdict{{ID: "tests-pass", Status: factory.VerdictFail, Message: "1 failed"}}}
		return map[string]any{"patch": twoToTWO}
	}
	return map[string][]handlerCase{
		"patch_apply": {
			{name: "applies", setup: args(map[string]any{"patch": twoToTWO}), check: func(t *testing.T, e *env, got map[string]any) {
				assert.Equal(t, true, field(got, "applied"))
				assert.Equal(t, "one\nTWO\nthree\n", read(t, e.dir, "a.txt"))
				assert.True(t, e.recorded(str(got, "before")), "before is in the run log")
				assert.True(t, e.recorded(str(got, "after")), "after is in the run log")
			}},
			{name: "empty", setup: args(map[string]any{"patch": ""}), want: "patch is empty; send a unified diff"},
			{name: "fuzz out of range", setup: args(map[string]any{"patch": twoToTWO, "fuzz": 9}), want: "fuzz 9: use 0 to 3"},
			{name: "context that does not match is an answer", setup: args(map[string]any{"patch": strings.ReplaceAll(twoToTWO, " one", " uno")}), check: func(t *testing.T, e *env, got map[string]any) {
				assert.Equal(t, false, field(got, "applied"))
				assert.Nil(t, got["dry_run"], "nobody asked for a dry run")
				assert.Contains(t, str(got, "reason"), "a.txt")
				assert.Nil(t, got["already_applied"])
				assert.Equal(t, "a.txt", str(got["conflicts"].([]any)[0].(map[string]any), "file"))
				assert.Equal(t, "one\ntwo\nthree\n", read(t, e.dir, "a.txt"), "nothing written")
			}},
			{name: "already applied", setup: func(t *testing.T, e *env) map[string]any {
				write(t, e.dir, "a.txt", "one\nTWO\nthree\n")
				return map[string]any{"patch": twoToTWO}
			}, check: func(t *testing.T, e *env, got map[string]any) {
				assert.Equal(t, false, field(got, "applied"))
				assert.Equal(t, true, field(got, "already_applied"))
				assert.Equal(t, invariants.AlreadyAppliedReason, str(got, "reason"))
				assert.Equal(t, "one\nTWO\nthree\n", read(t, e.dir, "a.txt"))
			}},
		},
		"change_propose": {
			{name: "accepted", setup: accepted, check: func(t *testing.T, e *env, got map[string]any) {
				assert.Equal(t, true, field(got, "accepted"))
				require.Len(t, e.gate.proposed, 1)
				assert.Equal(t, invariants.ProposeRequest{Patch: twoToTWO, Commit: true, Message: "shout two"}, e.gate.proposed[0])
				assert.True(t, e.recorded(str(got, "base")), "the base is in the run log")
				vs, err := e.store.Verdicts(context.Background(), e.runID)
				require.NoError(t, err)
				require.Len(t, vs, 1)
				assert.Equal(t, factory.VerdictPass, vs[0].Status)
			}},
			{name: "rejected is an answer, its verdicts kept", setup: rejected, check: func(t *testing.T, e *env, got map[string]any) {
				assert.Equal(t, false, field(got, "accepted"))
				assert.Equal(t, "tests-pass failed: 1 failed", str(got, "reason"))
				vs, err := e.store.Verdicts(context.Background(), e.runID)
				require.NoError(t, err)
				require.Len(t, vs, 1)
				assert.Equal(t, factory.VerdictFail, vs[0].Status)
			}},
			{name: "the working tree", setup: func(t *testing.T, e *env) map[string]any {
				e.gate.propose = invariants.ProposeResult{Accepted: true, Reason: "accepted", Verdicts: []factory.Verdict{}}
				return map[string]any{"base": "main", "commit": true}
			}, check: func(t *testing.T, e *env, got map[string]any) {
				assert.Equal(t, true, field(got, "accepted"))
				assert.Nil(t, got["patch"], "no patch report without a patch")
				assert.Equal(t, []invariants.ProposeRequest{{Base: "main", Commit: true}}, e.gate.proposed)
			}},
			{name: "control character in base", setup: args(map[string]any{"base": "HEAD\n"}), want: "base contains a control character", check: notProposed},
			{name: "control character in message", setup: args(map[string]any{"patch": twoToTWO, "message": "a\x07"}),
				want: "message contains a control character", check: notProposed},
		},
	}
}

func notProposed(t *testing.T, e *env, _ map[string]any) {
	assert.Empty(t, e.gate.proposed, "bad input never reaches the gate")
}

// A result that names a long output by URI is only given when the run log
// kept it: otherwise the call fails and names no URI.
func TestABlobTheRunLogCannotKeepFailsTheCall(t *testing.T) {
	e := newEnv(t)
	from := e.snapshot(t, "")
	write(t, e.dir, "big.txt", strings.Repeat("a line of the big file\n", 4000))
	to := e.snapshot(t, "")
	require.NoError(t, e.store.Close())
	got, toolErr := e.call(t, "snapshot_diff", map[string]any{"from": from.ID, "to": to.ID, "max_bytes": 1024})
	assert.Nil(t, got)
	assert.NotContains(t, toolErr, "factory://blobs/")
	assert.NotEmpty(t, toolErr)
}
