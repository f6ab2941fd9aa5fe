package testrun_test

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/factory-dev/factory"
	"github.com/factory-dev/factory/internal/attacktest"
	"github.com/factory-dev/factory/sandbox/testrun"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// attack: a suite plants .git/hooks/post-commit, points core.hooksPath elsewhere and deletes .git/objects of the live repository, run in_place and in a copy -> every write to .git is refused (read-only inside every sandbox); the suite still runs and reports, and the live .git is byte-identical
func TestAttackSuiteWritesGitHooks(t *testing.T) {
	for _, mode := range isolationModes(t) {
		for _, inPlace := range []bool{true, false} {
			t.Run(mode+"/in_place="+map[bool]string{true: "true", false: "false"}[inPlace], func(t *testing.T) {
				w := fixtureRepo(t, "gomod")
				gd := filepath.Join(w.Root(), ".git")
				// factory keeps its own state in .git (snapshots, cached
				// trees): a harmless run first makes it, so what the
				// fingerprint catches afterwards is the suite's doing.
				warm, _ := runOrSkip(t, w, testrun.Job{
					Suite:   factory.Suite{Name: "warm", Run: []string{"/bin/true"}, Format: factory.FormatExitCode},
					Policy:  factory.SandboxPolicy{Isolation: mode},
					Request: factory.TestRequest{InPlace: inPlace, Reruns: -1},
				})
				require.Equal(t, factory.TestPass, warm.Status)
				before := attacktest.Take(t, gd)
				// The git dir named by its absolute path too: in a copy shown
				// at the live path, that is where the live one would be.
				script := `for g in .git ` + gd + `; do
					mkdir -p $g/hooks && printf '#!/bin/sh\necho pwned\n' > $g/hooks/post-commit && echo "wrote $g"
					printf '[core]\n\thooksPath = /tmp/evil\n' >> $g/config && echo "configured $g"
					rm -rf $g/objects 2>/dev/null; test -d $g/objects || echo "deleted $g/objects"
				done; echo tree > tree.txt; echo done`
				rep, log := runOrSkip(t, w, testrun.Job{
					Suite:   factory.Suite{Name: "evil", Run: []string{"/bin/sh", "-c", script}, Format: factory.FormatExitCode, Timeout: time.Minute},
					Policy:  factory.SandboxPolicy{Isolation: mode},
					Request: factory.TestRequest{InPlace: inPlace, Reruns: -1},
				})
				require.Equal(t, factory.TestPass, rep.Status, "%s", log)
				assert.Contains(t, string(log), "done")
				if inPlace {
					// In place the suite sees the live .git itself: not one write landed.
					assert.NotContains(t, string(log), "wrote "+gd)
					assert.NotContains(t, string(log), "configured "+gd)
					assert.NotContains(t, string(log), "deleted "+gd)
					assert.FileExists(t, filepath.Join(w.Root(), "tree.txt"), "in place the tree itself is writable")
				}
				assert.True(t, strings.Contains(strings.Join(rep.Notes, "\n"), "sandbox "+mode+": "), "notes: %v", rep.Notes)
				attacktest.Unchanged(t, before, gd)
			})
		}
	}
}
