package tools_test

import (
	"testing"

	"github.com/factory-dev/factory/internal/attacktest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestArgumentErrorsInWords: every way of sending bad arguments is answered
// with a sentence naming the argument and what it must be, never a Go
// struct dump, and the workspace is left as it was.
func TestArgumentErrorsInWords(t *testing.T) {
	cases := []struct {
		tool string
		args map[string]any
		want string
	}{
		{"test_run", map[string]any{"reruns": "two"}, "test_run: bad arguments: reruns must be an integer, got a string"},
		{"test_run", map[string]any{"reruns": 1.5}, "reruns must be an integer, got a number with a fraction"},
		{"test_run", map[string]any{"in_place": "yes"}, "in_place must be a boolean, got a string"},
		{"trace_query", map[string]any{"extra": 1}, `unknown argument "extra"; the arguments are: kind, run, tool, status, since, text, limit, cursor`},
		{"snapshot_restore", map[string]any{"id": "s-x", "paths": []any{1}}, "each element of paths must be a string, got a number"},
		{"snapshot_restore", map[string]any{"id": "s-x", "paths": "a.txt"}, "paths must be an array of strings, got a string"},
		{"doctor", map[string]any{"verbose": true}, `unknown argument "verbose"; this tool takes no arguments`},
		{"trace_note", map[string]any{"text": map[string]any{"a": 1}}, "text must be a string, got an object"},
	}
	for _, c := range cases {
		t.Run(c.tool+"/"+c.want, func(t *testing.T) {
			e := newEnv(t)
			before := attacktest.Take(t, e.dir)
			got, text := e.call(t, c.tool, c.args)
			require.Nil(t, got)
			assert.Contains(t, text, c.want)
			assert.NotContains(t, text, "&{")
			assert.NotContains(t, text, "json:")
			attacktest.Unchanged(t, before, e.dir)
		})
	}
}

// attack: misspell dry_run as "dryrun" so that a patch meant to be tried is written to the live tree -> refused as an unknown argument, nothing written
func TestAttackMisspeltDryRun(t *testing.T) {
	e := newEnv(t)
	before := attacktest.Take(t, e.dir)
	got, text := e.call(t, "patch_apply", map[string]any{"patch": twoToTWO, "dryrun": true})
	require.Nil(t, got)
	assert.Contains(t, text, `unknown argument "dryrun"; the arguments are: patch, dry_run, fuzz`)
	attacktest.Unchanged(t, before, e.dir)
}

// TestTraceQueryShortText: a text shorter than 3 characters matched either
// everything or nothing depending on its length; it is refused, saying so.
func TestTraceQueryShortText(t *testing.T) {
	e := newEnv(t)
	for _, text := range []string{"a", "ab", " a ", "a*"} {
		got, msg := e.call(t, "trace_query", map[string]any{"text": text})
		require.Nil(t, got, "text %q", text)
		assert.Contains(t, msg, "at least 3 characters", "text %q", text)
	}
	got, msg := e.call(t, "trace_query", map[string]any{"text": "abc"})
	require.Empty(t, msg)
	require.NotNil(t, got)
}
