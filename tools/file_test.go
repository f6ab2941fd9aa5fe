package tools_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/factory-dev/factory/internal/attacktest"
	"github.com/factory-dev/factory/internal/gittest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// commitEdit gives the env a history: HEAD~1 has a.txt "one two three",
// HEAD has "one 2 three".
func commitEdit(t *testing.T, e *env) {
	t.Helper()
	write(t, e.dir, "a.txt", "one\n2\nthree\n")
	gittest.Run(t, e.dir, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qam", "edit")
}

func revParse(t *testing.T, e *env, rev string) string {
	return strings.TrimSpace(gittest.Run(t, e.dir, "rev-parse", rev))
}

// revisionCases are the cases of the tools that take a tree, given as a
// git revision, and of file_read.
func revisionCases() map[string][]handlerCase {
	withHistory := func(a map[string]any) func(*testing.T, *env) map[string]any {
		return func(t *testing.T, e *env) map[string]any {
			commitEdit(t, e)
			return a
		}
	}
	return map[string][]handlerCase{
		"file_read": {
			{name: "a line at HEAD~1", setup: withHistory(map[string]any{"path": "a.txt", "at": "HEAD~1", "start_line": 2, "end_line": 2}), check: func(t *testing.T, e *env, got map[string]any) {
				assert.Equal(t, "two\n", str(got, "text"))
				assert.Equal(t, revParse(t, e, "HEAD~1"), str(got, "at"))
				assert.EqualValues(t, 3, field(got, "total_lines"))
				assert.EqualValues(t, 2, field(got, "end_line"))
			}},
			{name: "HEAD by default, not the working tree", setup: func(t *testing.T, e *env) map[string]any {
				write(t, e.dir, "a.txt", "live\n")
				return map[string]any{"path": "a.txt"}
			}, check: func(t *testing.T, e *env, got map[string]any) {
				assert.Equal(t, "one\ntwo\nthree\n", str(got, "text"))
				assert.Equal(t, revParse(t, e, "HEAD"), str(got, "at"))
			}},
			{name: "live", setup: func(t *testing.T, e *env) map[string]any {
				write(t, e.dir, "a.txt", "live\n")
				return map[string]any{"path": "a.txt", "at": "live"}
			}, check: func(t *testing.T, e *env, got map[string]any) {
				assert.Equal(t, "live\n", str(got, "text"))
				assert.Regexp(t, `^s-`, str(got, "at"))
			}},
			{name: "a snapshot", setup: func(t *testing.T, e *env) map[string]any {
				write(t, e.dir, "a.txt", "snapped\n")
				s := e.snapshot(t, "")
				write(t, e.dir, "a.txt", "later\n")
				return map[string]any{"path": "a.txt", "at": s.ID}
			}, check: func(t *testing.T, e *env, got map[string]any) {
				assert.Equal(t, "snapped\n", str(got, "text"))
			}},
			{name: "no such revision", setup: args(map[string]any{"path": "a.txt", "at": "HEAD~99"}), want: "HEAD~99: no such revision; give a snapshot id (snapshot_list) or a git revision"},
			{name: "no path", setup: args(map[string]any{}), want: "path is required"},
			{name: "past the end", setup: args(map[string]any{"path": "a.txt", "start_line": 9}), want: "start_line 9 is past the end: the file has 3 lines"},
			{name: "end before start", setup: args(map[string]any{"path": "a.txt", "start_line": 3, "end_line": 2}), want: "start_line <= end_line"},
			{name: "binary", setup: func(t *testing.T, e *env) map[string]any {
				require.NoError(t, os.WriteFile(filepath.Join(e.dir, "b.bin"), []byte{0, 1, 2, 0xff}, 0o644))
				gittest.Run(t, e.dir, "add", "b.bin")
				gittest.Run(t, e.dir, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "bin")
				return map[string]any{"path": "b.bin"}
			}, want: "the file is binary (4 bytes)"},
		},
		"snapshot_diff": {
			{name: "from HEAD~1", setup: withHistory(map[string]any{"from": "HEAD~1"}), check: func(t *testing.T, e *env, got map[string]any) {
				assert.Contains(t, str(got, "patch"), "-two\n+2\n")
				assert.Regexp(t, `^s-`, str(got, "from"))
			}},
			{name: "from HEAD~1 to HEAD", setup: withHistory(map[string]any{"from": "HEAD~1", "to": "HEAD"}), check: func(t *testing.T, e *env, got map[string]any) {
				assert.Contains(t, str(got, "patch"), "+2\n")
			}},
			{name: "from no revision", setup: args(map[string]any{"from": "HEAD~99"}), want: "HEAD~99: no such revision"},
		},
		"snapshot_restore": {
			{name: "to HEAD~1", setup: withHistory(map[string]any{"id": "HEAD~1"}), check: func(t *testing.T, e *env, got map[string]any) {
				assert.Equal(t, "one\ntwo\nthree\n", read(t, e.dir, "a.txt"))
				assert.Equal(t, "edit", strings.TrimSpace(gittest.Run(t, e.dir, "log", "-1", "--format=%s")), "HEAD and the branch stay")
				assert.Equal(t, "M a.txt", strings.TrimSpace(gittest.Run(t, e.dir, "status", "--porcelain")), "only the working tree moved")
			}},
		},
		"test_run": {
			{name: "at HEAD~1", setup: withHistory(map[string]any{"at": "HEAD~1"}), check: func(t *testing.T, e *env, got map[string]any) {
				s, err := e.ws.Resolve(context.Background(), str(got, "snapshot"))
				require.NoError(t, err)
				assert.Equal(t, revParse(t, e, "HEAD~1^{tree}"), s.Tree, "the run was on HEAD~1's tree")
				assert.Equal(t, "pass", str(got, "status"))
			}},
			{name: "baseline HEAD", setup: withHistory(map[string]any{"baseline": "HEAD"}), check: func(t *testing.T, e *env, got map[string]any) {
				assert.Equal(t, "pass", str(got, "status"))
			}},
			{name: "at and snapshot disagree", setup: args(map[string]any{"at": "HEAD", "snapshot": "s-000000"}), want: "name two trees"},
			{name: "at no revision", setup: args(map[string]any{"at": "nobranch"}), want: "nobranch: no such revision"},
		},
	}
}

// attack: read outside the tree through file_read (.., absolute, .git, a committed symlink to /etc/passwd, a revision that is an option) -> EINVALID, nothing read or written
func TestAttackFileReadOutside(t *testing.T) {
	e := newEnv(t)
	require.NoError(t, os.Symlink("/etc/passwd", filepath.Join(e.dir, "link")))
	require.NoError(t, os.Symlink("..", filepath.Join(e.dir, "up")))
	gittest.Run(t, e.dir, "add", "link", "up")
	gittest.Run(t, e.dir, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "links")
	out := filepath.Join(t.TempDir(), "x")
	paths := []string{e.dir, "/etc/passwd", out}
	before := attacktest.Take(t, paths...)
	for _, a := range []map[string]any{
		{"path": "../../etc/passwd"}, {"path": "/etc/passwd"}, {"path": ".git/config"}, {"path": "sub/../../x"},
		{"path": "link"}, {"path": "up/etc/passwd"}, {"path": "link", "at": "HEAD"},
		{"path": "a.txt", "at": "--output=" + out}, {"path": "a.txt", "at": "HEAD:../../etc/passwd"}, {"path": "a.txt", "at": "@{-1}"},
		{"path": "-a.txt"},
	} {
		got, toolErr := e.call(t, "file_read", a)
		assert.Nil(t, got, "%v", a)
		assert.NotEmpty(t, toolErr, "%v", a)
		assert.NotContains(t, toolErr, "root:", "%v: no host file content", a)
	}
	attacktest.Unchanged(t, before, paths...)

	// The live tree's symlink is snapshotted as a link, never followed.
	live := []string{filepath.Join(e.dir, "a.txt"), filepath.Join(e.dir, ".git", "index"), filepath.Join(e.dir, ".git", "HEAD"), "/etc/passwd"}
	before = attacktest.Take(t, live...)
	for _, p := range []string{"link", "up/etc/passwd"} {
		got, toolErr := e.call(t, "file_read", map[string]any{"path": p, "at": "live"})
		assert.Nil(t, got, p)
		assert.Regexp(t, "not a regular file|not a directory there", toolErr, p)
	}
	attacktest.Unchanged(t, before, live...)
}

// attack: pass a git option or a tree:path as a revision to snapshot_diff, snapshot_restore, test_run -> EINVALID, repository byte-identical
func TestAttackRevisionArgumentsAsOptions(t *testing.T) {
	e := newEnv(t)
	out := filepath.Join(t.TempDir(), "x")
	paths := []string{e.dir, out}
	before := attacktest.Take(t, paths...)
	for _, rev := range []string{"--output=" + out, "-p", "HEAD:../../etc/passwd", "@{-1}", "HEAD@{99}"} {
		for tool, key := range map[string]string{"snapshot_diff": "from", "snapshot_restore": "id", "test_run": "at", "file_read": "at", "invariant_check": "baseline"} {
			a := map[string]any{key: rev}
			if tool == "file_read" {
				a["path"] = "a.txt"
			}
			got, toolErr := e.call(t, tool, a)
			if tool == "invariant_check" { // the fake gate resolves nothing; the controller's test covers it
				continue
			}
			assert.Nil(t, got, "%s %v", tool, a)
			assert.Contains(t, toolErr, "snapshot", "%s %v: says what to give", tool, a)
		}
	}
	attacktest.Unchanged(t, before, paths...)
}
