package invariants

import (
	"testing"

	"github.com/factory-dev/factory"
)

// Exported for the external tests (sandbox_integration_test.go), which run
// the same proposals through the real sandbox.

// RepoFromForTest makes a git repository holding a copy of an example.
func RepoFromForTest(t testing.TB, example string) string { return repoFrom(t, example) }

// RunGatesMatrixForTest proposes the done-when proposals against a repository
// holding examples/gates through c, and a good one last.
func RunGatesMatrixForTest(t *testing.T, repo string, c *Controller, resolve func(string) (factory.Snapshot, error)) {
	runMatrix(t, repo, c, resolve, gatesCases(), goodGatesEdit, []string{"ui/ui.go", "ui/total_test.go"})
}

// MakePatchForTest returns the diff of an edit of repo's files, made in a clone.
func MakePatchForTest(t testing.TB, repo string, edit func(dir string)) string {
	return makePatch(t, repo, edit)
}

// ReplaceInForTest replaces old by new in a file under dir.
func ReplaceInForTest(t testing.TB, dir, path, old, new string) { replaceIn(t, dir, path, old, new) }

// WriteFilesForTest writes files under dir.
func WriteFilesForTest(t testing.TB, dir string, files map[string]string) { writeFiles(t, dir, files) }

// TreeStateForTest hashes every file of a tree with its mode and mtime.
func TreeStateForTest(t testing.TB, root string) map[string]string { return treeState(t, root) }

// StepRecorderForTest is a Steps recording phase names, with hooks.
type StepRecorderForTest = stepRecorder

// NewStepRecorderForTest returns a recorder running hook[name] when phase name begins.
func NewStepRecorderForTest(hook map[string]func()) *stepRecorder { return &stepRecorder{hook: hook} }

// RequireVerdictForTest asserts a verdict's status and evidence.
func RequireVerdictForTest(t testing.TB, vs []factory.Verdict, id, status string, evidence ...string) factory.Verdict {
	return requireVerdict(t, vs, id, status, evidence...)
}
