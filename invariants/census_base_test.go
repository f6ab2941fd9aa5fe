package invariants

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/factory-dev/factory"
	"github.com/factory-dev/factory/invariants/gates"
	"github.com/stretchr/testify/assert"
)

// gates.BaseFiles rebuilds every touched Go file of the base from the result and
// git's own diff: modified in several hunks, deleted, renamed with an
// edit, and added.
func TestBaseFilesRebuildsTheBase(t *testing.T) {
	long := ""
	for i := range 40 {
		long += "// line " + string(rune('a'+i%26)) + "\n"
	}
	base := map[string]string{
		"go.mod":       "module example.com/m\n",
		"a/a_test.go":  "package a\n" + long + "func TestA(t *testing.T) {}\n" + long + "func TestB(t *testing.T) {}\n",
		"gone_test.go": "package m\n\nfunc TestGone(t *testing.T) {}\n",
		"old/o.go":     "package old\n" + long + "// end\n",
	}
	repo := newRepo(t, base)
	var result string
	patch := makePatch(t, repo, func(d string) {
		replaceIn(t, d, "a/a_test.go", "func TestA(", "func TestA2(")
		replaceIn(t, d, "a/a_test.go", "func TestB(t *testing.T) {}\n", "")
		assert.NoError(t, os.Remove(filepath.Join(d, "gone_test.go")))
		assert.NoError(t, os.MkdirAll(filepath.Join(d, "new"), 0o755))
		assert.NoError(t, os.Rename(filepath.Join(d, "old", "o.go"), filepath.Join(d, "new", "o.go")))
		replaceIn(t, d, "new/o.go", "// end\n", "// the end\n")
		writeFiles(t, d, map[string]string{"added.go": "package m\n"})
		result = d
	})
	files := []factory.FileStat{
		{Path: "a/a_test.go", Status: factory.StatusModified},
		{Path: "gone_test.go", Status: factory.StatusDeleted},
		{Path: "new/o.go", OldPath: "old/o.go", Status: factory.StatusRenamed},
		{Path: "added.go", Status: factory.StatusAdded},
	}
	got := gates.BaseFiles(gates.BuildDiffFacts(files, patch), func(p string) ([]byte, error) { return os.ReadFile(filepath.Join(result, p)) })
	assert.Equal(t, base["a/a_test.go"], string(got["a/a_test.go"]))
	assert.Equal(t, base["gone_test.go"], string(got["gone_test.go"]))
	assert.Equal(t, base["old/o.go"], string(got["old/o.go"]))
	assert.Contains(t, got, "new/o.go")
	assert.Nil(t, got["new/o.go"], "the base has no new/o.go")
	assert.Nil(t, got["added.go"])
}
