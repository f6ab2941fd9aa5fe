package invariants

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/factory-dev/factory"
	"github.com/factory-dev/factory/internal/attacktest"
	"github.com/factory-dev/factory/invariants/rules"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// detectOne stands in for the sandbox's suite detection: one suite named
// after what it was asked about, so a test sees that it ran, and on what.
func detectOne(root string) []factory.Suite {
	return []factory.Suite{{Name: "detected", Run: []string{"true", root}}}
}

const committedRules = "version: 1\nsuites:\n  unit: {run: [go, test, ./...], format: exit-code}\n"

// The two ways to load or detect (with and without a controller) give the
// same answer in every state of a repository's factory.yaml.
func TestLoadOrDetect(t *testing.T) {
	ctx := context.Background()
	type loader func(t *testing.T, repo string) (*rules.Config, string, error)
	loaders := map[string]loader{
		"LoadOrDetect": func(t *testing.T, repo string) (*rules.Config, string, error) {
			return rules.LoadOrDetect(ctx, newFakeWS(t, repo), repo, "", detectOne)
		},
		"Controller.RulesOrDetect": func(t *testing.T, repo string) (*rules.Config, string, error) {
			ws := newFakeWS(t, repo)
			c := newTestController(t, ws, &execRunner{}, nil, t.TempDir())
			return c.RulesOrDetect(ctx, detectOne)
		},
	}
	for name, load := range loaders {
		t.Run(name, func(t *testing.T) {
			t.Run("committed", func(t *testing.T) {
				repo := newRepo(t, map[string]string{rules.ConfigFile: committedRules})
				cfg, note, err := load(t, repo)
				require.NoError(t, err)
				assert.Empty(t, note)
				require.Len(t, cfg.Suites, 1)
				assert.Equal(t, "unit", cfg.Suites[0].Name)
			})
			t.Run("none anywhere", func(t *testing.T) {
				repo := newRepo(t, map[string]string{"main.go": "package main\n"})
				cfg, note, err := load(t, repo)
				require.NoError(t, err)
				assert.Empty(t, note)
				assert.Equal(t, 1, cfg.Version)
				assert.Equal(t, detectOne(repo), cfg.Suites)
			})
			t.Run("malformed committed is an error, not defaults", func(t *testing.T) {
				repo := newRepo(t, map[string]string{rules.ConfigFile: "version: 1\ngates: [\n"})
				_, _, err := load(t, repo)
				assert.Equal(t, factory.EINVALID, factory.ErrorCode(err), "%v", err)
			})
		})
	}
}

// attack: write a factory.yaml with a suite of one's own into the working tree, never committed, hoping test_run uses it -> the defaults with the detected suites and the note that uncommitted rules do not apply; the file is left as it was
func TestAttackUncommittedConfigIsNotLoaded(t *testing.T) {
	repo := newRepo(t, map[string]string{"main.go": "package main\n"})
	require.NoError(t, os.WriteFile(filepath.Join(repo, rules.ConfigFile),
		[]byte("version: 1\nsuites:\n  mine: {run: [\"true\"], format: exit-code}\n"), 0o644))
	before := attacktest.Take(t, repo)
	cfg, note, err := rules.LoadOrDetect(context.Background(), newFakeWS(t, repo), repo, "", detectOne)
	require.NoError(t, err)
	assert.Equal(t, rules.UncommittedNote, note)
	assert.Equal(t, detectOne(repo), cfg.Suites, "the working copy's suite must not be used")
	c := newTestController(t, newFakeWS(t, repo), &execRunner{}, nil, t.TempDir())
	cfg, note, err = c.RulesOrDetect(context.Background(), nil)
	require.NoError(t, err)
	assert.Equal(t, rules.UncommittedNote, note)
	assert.Empty(t, cfg.Suites, "without detection there are no suites, and never the working copy's")
	attacktest.Unchanged(t, before, repo)
}
