package sandbox_test

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/factory-dev/factory"
	"github.com/factory-dev/factory/sandbox"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// snapshotSeeds returns the seeds to run: FACTORY_SNAPSHOT_SEED pins one.
func snapshotSeeds(t *testing.T, n int) []int64 {
	if s := os.Getenv("FACTORY_SNAPSHOT_SEED"); s != "" {
		v, err := strconv.ParseInt(s, 10, 64)
		require.NoError(t, err)
		return []int64{v}
	}
	base := time.Now().UnixNano()
	out := make([]int64, n)
	for i := range out {
		out[i] = base + int64(i)
	}
	return out
}

func openWorkspace(t testing.TB, dir string) *sandbox.Workspace {
	t.Helper()
	w, err := sandbox.Open(context.Background(), sandbox.Config{Root: dir})
	require.NoError(t, err)
	return w
}

// checkObjects fails unless every object of tree exists in the repository.
func checkObjects(t testing.TB, dir, tree string) {
	t.Helper()
	cmd := exec.Command("git", "ls-tree", "-r", "-t", "--format=%(objecttype) %(objectname)", tree)
	cmd.Dir = dir
	out, err := cmd.Output()
	require.NoError(t, err, "ls-tree %s", tree)
	var ids []string
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if typ, id, ok := strings.Cut(l, " "); ok && typ != "commit" {
			ids = append(ids, id)
		}
	}
	cmd = exec.Command("git", "cat-file", "--batch-check")
	cmd.Dir = dir
	cmd.Stdin = strings.NewReader(strings.Join(ids, "\n") + "\n")
	out, err = cmd.Output()
	require.NoError(t, err)
	assert.NotContains(t, string(out), "missing", "objects of tree %s missing", tree)
}

// TestSnapshotMatchesGitAddAll is the differential test: random workspaces,
// random edits, and after each edit the snapshot's tree must be the tree
// native git writes for the same state, while .git/index, HEAD, branches and
// the working tree stay untouched by create and list.
func TestSnapshotMatchesGitAddAll(t *testing.T) {
	isolateGit(t)
	ctx := context.Background()
	for _, seed := range snapshotSeeds(t, 8) {
		g := NewRandomWorkspace(t, seed)
		w := openWorkspace(t, g.Dir)
		for step := 0; step < 20; step++ {
			what := g.Edit()
			before := g.UserState()
			s, err := w.Snapshot(ctx, "")
			require.NoError(t, err, "seed %d step %d (%s)", seed, step, what)
			_, err = w.Snapshots(ctx, sandbox.SnapshotFilter{})
			require.NoError(t, err)
			after := g.UserState()
			require.Equal(t, before, after, "seed %d step %d: snapshot changed the user's state (edits: %s)", seed, step, strings.Join(g.Log, "; "))
			if step%4 == 3 {
				checkObjects(t, g.Dir, s.Tree)
			}
			want := g.GitTree()
			if !assert.Equal(t, want, s.Tree, "seed %d step %d: tree differs from git add -A (FACTORY_SNAPSHOT_SEED=%d)\nedits: %s\ndiff (git -> factory):\n%s",
				seed, step, seed, strings.Join(g.Log, "; "), diffTrees(g.Dir, want, s.Tree)) {
				return
			}
		}
	}
}

func diffTrees(dir, a, b string) string {
	cmd := exec.Command("git", "diff-tree", "-r", "--name-status", a, b)
	cmd.Dir = dir
	out, _ := cmd.CombinedOutput()
	return string(out)
}

// TestSnapshotDirMatchesGit checks the capture of an isolated copy (a
// directory outside the working tree) against git run on that directory.
func TestSnapshotDirMatchesGit(t *testing.T) {
	isolateGit(t)
	ctx := context.Background()
	for _, seed := range snapshotSeeds(t, 3) {
		g := NewRandomWorkspace(t, seed)
		w := openWorkspace(t, g.Dir)
		cp := t.TempDir()
		for step := 0; step < 6; step++ {
			g.Edit()
			require.NoError(t, exec.Command("rm", "-rf", cp).Run())
			out, err := exec.Command("cp", "-a", g.Dir, cp).CombinedOutput()
			require.NoError(t, err, string(out))
			require.NoError(t, os.RemoveAll(cp+"/.git"))
			s, err := w.SnapshotDir(ctx, cp, "")
			require.NoError(t, err)
			want := GitTreeOf(t, g.Dir, cp)
			require.Equal(t, want, s.Tree, "seed %d step %d (FACTORY_SNAPSHOT_SEED=%d)\nedits: %s\n%s", seed, step, seed, strings.Join(g.Log, "; "), diffTrees(g.Dir, want, s.Tree))
			// A live snapshot of the same state has the same tree.
			live, err := w.Snapshot(ctx, "")
			require.NoError(t, err)
			assert.Equal(t, s.Tree, live.Tree)
		}
	}
}

func TestSnapshotRecordsMetadataAndReuses(t *testing.T) {
	isolateGit(t)
	ctx := factory.WithCall(context.Background(), factory.Call{RunID: "r-1", StepID: "st-2"})
	g := NewRandomWorkspace(t, 1)
	g.Git("add", "-A")
	g.Git("commit", "-q", "--allow-empty", "-m", "base")
	head := g.Git("rev-parse", "HEAD")
	w := openWorkspace(t, g.Dir)

	g.write("new-file.txt", "hello\n")
	s1, err := w.Snapshot(ctx, "before refactor")
	require.NoError(t, err)
	assert.Regexp(t, `^s-[0-9a-f]{6,}$`, s1.ID)
	assert.Equal(t, head, s1.Parent)
	assert.Equal(t, "r-1", s1.RunID)
	assert.Equal(t, "st-2", s1.StepID)
	assert.Equal(t, factory.Changes{Added: 1}, s1.Changes)
	assert.False(t, s1.Reused)
	assert.True(t, strings.HasPrefix(s1.Commit, strings.TrimPrefix(s1.ID, "s-")))

	// The ref alone describes the snapshot: trailers in the commit message.
	msg := g.Git("log", "-1", "--format=%B", "refs/factory/snapshots/"+s1.ID)
	assert.Contains(t, msg, "Factory-Label: before refactor")
	assert.Contains(t, msg, "Factory-Run: r-1")
	assert.Contains(t, msg, "Factory-Step: st-2")
	assert.Contains(t, msg, "Factory-Changes: added=1 modified=0 deleted=0")
	assert.Equal(t, head, g.Git("rev-parse", "refs/factory/snapshots/"+s1.ID+"^"))

	// Same tree again: the same snapshot comes back, marked reused.
	s2, err := w.Snapshot(context.Background(), "")
	require.NoError(t, err)
	assert.True(t, s2.Reused)
	assert.Equal(t, s1.ID, s2.ID)

	// A fresh Workspace (another process) finds the latest too.
	w2 := openWorkspace(t, g.Dir)
	s3, err := w2.Snapshot(context.Background(), "")
	require.NoError(t, err)
	assert.True(t, s3.Reused)
	assert.Equal(t, s1.ID, s3.ID)

	g.write("new-file.txt", "changed\n")
	s4, err := w.Snapshot(context.Background(), "")
	require.NoError(t, err)
	assert.False(t, s4.Reused)
	assert.NotEqual(t, s1.ID, s4.ID)

	list, err := w.Snapshots(ctx, sandbox.SnapshotFilter{})
	require.NoError(t, err)
	require.Len(t, list, 2)
	assert.Equal(t, s4.ID, list[0].ID, "newest first")
	assert.Equal(t, s1.ID, list[1].ID)
	assert.Equal(t, s1.Label, list[1].Label)
	assert.Equal(t, s1.Changes, list[1].Changes)
	assert.True(t, s1.Created.Equal(list[1].Created))

	l, err := w.Snapshots(ctx, sandbox.SnapshotFilter{Label: "before refactor"})
	require.NoError(t, err)
	require.Len(t, l, 1)
	assert.Equal(t, s1.ID, l[0].ID)
	l, err = w.Snapshots(ctx, sandbox.SnapshotFilter{RunID: "r-1"})
	require.NoError(t, err)
	require.Len(t, l, 1)
	l, err = w.Snapshots(ctx, sandbox.SnapshotFilter{Limit: 1})
	require.NoError(t, err)
	require.Len(t, l, 1)
	assert.Equal(t, s4.ID, l[0].ID)

	r, err := w.Resolve(ctx, s1.ID)
	require.NoError(t, err)
	assert.Equal(t, s1.Tree, r.Tree)
	tree, err := w.TreeOf(ctx, "refs/factory/snapshots/"+s1.ID)
	require.NoError(t, err)
	assert.Equal(t, s1.Tree, tree)
}

func TestSnapshotEmptyRepositoryAndDetachedHead(t *testing.T) {
	isolateGit(t)
	ctx := context.Background()
	dir := t.TempDir()
	g := &RandomWorkspace{T: t, Dir: dir}
	g.Git("init", "-q", ".")
	w := openWorkspace(t, dir)

	s, err := w.Snapshot(ctx, "")
	require.NoError(t, err)
	assert.Equal(t, "4b825dc642cb6eb9a060e54bf8d69288fbee4904", s.Tree, "the empty tree")
	assert.Empty(t, s.Parent)
	assert.Equal(t, "unborn", strings.TrimSpace(func() string {
		if _, err := g.gitEnv(nil, "rev-parse", "--verify", "-q", "HEAD"); err != nil {
			return "unborn"
		}
		return "born"
	}()), "snapshot must not create a commit on the branch")

	g.write("a.txt", "a\n")
	s, err = w.Snapshot(ctx, "")
	require.NoError(t, err)
	assert.Equal(t, g.GitTree(), s.Tree)
	assert.Equal(t, factory.Changes{Added: 1}, s.Changes)

	g.Git("add", "-A")
	g.Git("commit", "-q", "-m", "one")
	g.Git("checkout", "-q", "--detach")
	g.write("a.txt", "b\n")
	s, err = w.Snapshot(ctx, "")
	require.NoError(t, err)
	assert.Equal(t, g.Git("rev-parse", "HEAD"), s.Parent)
	assert.Equal(t, factory.Changes{Modified: 1}, s.Changes)
}

func TestResolveRejectsBadIDs(t *testing.T) {
	isolateGit(t)
	ctx := context.Background()
	g := NewRandomWorkspace(t, 7)
	g.Git("add", "-A")
	g.Git("commit", "-q", "--allow-empty", "-m", "base")
	g.Git("tag", "v1")
	w := openWorkspace(t, g.Dir)
	s, err := w.Snapshot(ctx, "")
	require.NoError(t, err)
	// A ref under the snapshot prefix that factory did not write.
	g.Git("update-ref", "refs/factory/snapshots/s-abcdef", "HEAD")
	before := g.UserState()

	cases := []struct {
		id, code, says string
	}{
		{"", factory.EINVALID, "snapshot_list"},
		{"-rf", factory.EINVALID, "must not begin with '-'"},
		{"--output=/tmp/x", factory.EINVALID, "'-'"},
		{"s-00000000", factory.ENOTFOUND, "list them with snapshot_list"},
		{"main", factory.EINVALID, "a branch, not a snapshot"},
		{"v1", factory.EINVALID, "a tag, not a snapshot"},
		{"HEAD", factory.EINVALID, "not a snapshot"},
		{g.Git("rev-parse", "HEAD"), factory.EINVALID, "not a snapshot"},
		{"refs/heads/main", factory.EINVALID, "not a snapshot"},
		{"s-abcdef", factory.EINVALID, "not a snapshot"},
		{"s-XYZ123", factory.EINVALID, "snapshot_list"},
		{"../../HEAD", factory.EINVALID, "snapshot_list"},
		{"s-abc", factory.EINVALID, "snapshot_list"},
	}
	for _, c := range cases {
		_, err := w.Resolve(ctx, c.id)
		require.Error(t, err, c.id)
		assert.Equal(t, c.code, factory.ErrorCode(err), "%q: %v", c.id, err)
		assert.Contains(t, err.Error(), c.says, c.id)
		_, err = w.TreeOf(ctx, c.id)
		assert.Equal(t, c.code, factory.ErrorCode(err), c.id)
	}
	_, err = w.Resolve(ctx, s.ID)
	require.NoError(t, err)
	assert.Equal(t, before, g.UserState(), "bad input changed nothing")

	_, err = w.Snapshot(ctx, "two\nlines")
	assert.Equal(t, factory.EINVALID, factory.ErrorCode(err))
	_, err = w.Snapshot(ctx, strings.Repeat("x", 201))
	assert.Equal(t, factory.EINVALID, factory.ErrorCode(err))
	_, err = w.Snapshots(ctx, sandbox.SnapshotFilter{Limit: -1})
	assert.Equal(t, factory.EINVALID, factory.ErrorCode(err))
	_, err = w.Prune(ctx, -1, true)
	assert.Equal(t, factory.EINVALID, factory.ErrorCode(err))
}

func TestPruneKeepsNewestAndLabelled(t *testing.T) {
	isolateGit(t)
	ctx := context.Background()
	g := NewRandomWorkspace(t, 3)
	w, err := sandbox.Open(ctx, sandbox.Config{Root: g.Dir, Keep: 2})
	require.NoError(t, err)
	var made []factory.Snapshot
	for i := 0; i < 6; i++ {
		g.write("counter.txt", strconv.Itoa(i))
		label := ""
		if i == 1 {
			label = "keep me"
		}
		s, err := w.Snapshot(ctx, label)
		require.NoError(t, err)
		made = append(made, s)
		time.Sleep(2 * time.Millisecond)
	}
	// Unlabelled, newest first: 5 4 3 2 0. Keep 2 -> 3 2 0 go.
	gone, err := w.Prune(ctx, 0, true)
	require.NoError(t, err)
	ids := func(ss []factory.Snapshot) []string {
		var out []string
		for _, s := range ss {
			out = append(out, s.ID)
		}
		return out
	}
	assert.Equal(t, []string{made[3].ID, made[2].ID, made[0].ID}, ids(gone))
	all, err := w.Snapshots(ctx, sandbox.SnapshotFilter{})
	require.NoError(t, err)
	assert.Len(t, all, 6, "dry run deletes nothing")

	gone2, err := w.Prune(ctx, 0, false)
	require.NoError(t, err)
	assert.Equal(t, ids(gone), ids(gone2))
	all, err = w.Snapshots(ctx, sandbox.SnapshotFilter{})
	require.NoError(t, err)
	assert.Equal(t, []string{made[5].ID, made[4].ID, made[1].ID}, ids(all))
	_, err = w.Resolve(ctx, made[0].ID)
	assert.Equal(t, factory.ENOTFOUND, factory.ErrorCode(err))

	// Packed refs are pruned too.
	g.Git("pack-refs", "--all")
	gone3, err := w.Prune(ctx, 1, false)
	require.NoError(t, err)
	assert.Equal(t, []string{made[4].ID}, ids(gone3))
	assert.Empty(t, g.Git("for-each-ref", "refs/factory/snapshots/"+made[4].ID))
}

// TestSnapshotUnusualRepositories covers the index formats and settings the
// native walk reads itself (index v4, conflicts) and those it hands to git
// (split index, skip-worktree, assume-unchanged, eol conversion, clean
// filters): the tree must match git's either way, and the user's state
// must not change.
func TestSnapshotUnusualRepositories(t *testing.T) {
	isolateGit(t)
	ctx := context.Background()
	cases := []struct {
		name   string
		native bool // the native walk handles it (else git does the capture)
		setup  func(g *RandomWorkspace)
	}{
		{"index v4", true, func(g *RandomWorkspace) { g.Git("update-index", "--index-version", "4") }},
		{"split index", false, func(g *RandomWorkspace) { g.Git("update-index", "--split-index") }},
		{"assume unchanged", false, func(g *RandomWorkspace) {
			g.Git("update-index", "--assume-unchanged", "--", "tracked.txt")
			g.write("tracked.txt", "changed but assumed unchanged\n")
		}},
		{"skip worktree", false, func(g *RandomWorkspace) {
			g.Git("update-index", "--skip-worktree", "--", "tracked.txt")
			os.Remove(g.Dir + "/tracked.txt")
		}},
		{"eol conversion", false, func(g *RandomWorkspace) {
			g.write(".gitattributes", "*.crlf text eol=lf\n")
			g.write("a.crlf", "one\r\ntwo\r\n")
		}},
		{"autocrlf", false, func(g *RandomWorkspace) {
			g.Git("config", "core.autocrlf", "input")
			g.write("b.txt", "one\r\ntwo\r\n")
		}},
		{"clean filter", false, func(g *RandomWorkspace) {
			g.Git("config", "filter.upper.clean", "tr a-z A-Z")
			g.write(".gitattributes", "*.up filter=upper\n")
			g.write("c.up", "shout\n")
		}},
		{"conflict", true, func(g *RandomWorkspace) {
			g.Git("checkout", "-q", "-b", "other")
			g.write("tracked.txt", "other side\n")
			g.Git("commit", "-q", "-am", "other")
			g.Git("checkout", "-q", "main")
			g.write("tracked.txt", "main side\n")
			g.Git("commit", "-q", "-am", "main")
			g.gitEnv(nil, "merge", "-q", "other") // fails with a conflict
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			g := &RandomWorkspace{T: t, Dir: dir}
			g.Git("init", "-q", ".")
			g.write("tracked.txt", "base\n")
			g.write("sub/file.go", "package sub\n")
			g.Git("add", "-A")
			g.Git("commit", "-q", "-m", "base")
			c.setup(g)
			g.write("untracked.txt", "new\n")
			var log bytes.Buffer
			w, err := sandbox.Open(ctx, sandbox.Config{Root: dir,
				Logger: slog.New(slog.NewTextHandler(&log, &slog.HandlerOptions{Level: slog.LevelDebug}))})
			require.NoError(t, err)
			before := g.UserState()
			s, err := w.Snapshot(ctx, "")
			require.NoError(t, err)
			assert.Equal(t, before, g.UserState())
			assert.Equal(t, !c.native, strings.Contains(log.String(), "snapshot through git"), log.String())
			assert.Equal(t, g.GitTree(), s.Tree)
			checkObjects(t, dir, s.Tree)
			g.write("untracked.txt", "newer\n")
			s, err = w.Snapshot(ctx, "")
			require.NoError(t, err)
			assert.Equal(t, g.GitTree(), s.Tree)
		})
	}
}

func TestSnapshotBigFiles(t *testing.T) {
	isolateGit(t)
	dir := t.TempDir()
	g := &RandomWorkspace{T: t, Dir: dir}
	g.Git("init", "-q", ".")
	big := make([]byte, 9<<20) // above the in-memory limit: streamed twice
	for i := range big {
		big[i] = byte(i * 7)
	}
	g.writeBytes("big.bin", big, 0o644)
	w := openWorkspace(t, dir)
	s, err := w.Snapshot(context.Background(), "")
	require.NoError(t, err)
	assert.Equal(t, g.GitTree(), s.Tree)
	checkObjects(t, dir, s.Tree)
}

func TestSnapshotUnreadableFiles(t *testing.T) {
	if os.Getuid() == 0 {
		t.Skip("root reads everything")
	}
	isolateGit(t)
	ctx := context.Background()
	dir := t.TempDir()
	g := &RandomWorkspace{T: t, Dir: dir}
	g.Git("init", "-q", ".")
	g.write("a.txt", "a\n")
	g.write("locked/inside.txt", "x\n")
	require.NoError(t, os.Chmod(dir+"/locked", 0))
	t.Cleanup(func() { os.Chmod(dir+"/locked", 0o755) })
	w := openWorkspace(t, dir)

	s, err := w.Snapshot(ctx, "")
	require.NoError(t, err, "an unreadable untracked directory is left out, as git does")
	assert.Equal(t, g.GitTree(), s.Tree)

	g.write("secret.txt", "x\n")
	require.NoError(t, os.Chmod(dir+"/secret.txt", 0))
	_, err = w.Snapshot(ctx, "")
	require.Error(t, err)
	assert.Equal(t, factory.ECONFLICT, factory.ErrorCode(err))
	assert.Contains(t, err.Error(), "secret.txt")
	assert.Contains(t, err.Error(), "chmod")
}

// TestSnapshotAfterGitGC: git gc moves objects into a new pack and deletes
// unreachable ones; a warm Workspace must neither miss the packed objects
// nor believe that collected objects still exist.
func TestSnapshotAfterGitGC(t *testing.T) {
	isolateGit(t)
	ctx := context.Background()
	g := NewRandomWorkspace(t, 11)
	w, err := sandbox.Open(ctx, sandbox.Config{Root: g.Dir, Keep: 1})
	require.NoError(t, err)
	g.write("state.txt", "one\n")
	s1, err := w.Snapshot(ctx, "")
	require.NoError(t, err)
	g.write("state.txt", "two\n")
	_, err = w.Snapshot(ctx, "")
	require.NoError(t, err)

	// s1 goes; gc collects its unreachable objects at once.
	gone, err := w.Prune(ctx, 1, false)
	require.NoError(t, err)
	require.Len(t, gone, 1)
	assert.Equal(t, s1.ID, gone[0].ID)
	g.Git("reflog", "expire", "--expire=now", "--all")
	g.Git("gc", "-q", "--prune=now")

	// Back to s1's state: its blob and trees must be written again.
	g.write("state.txt", "one\n")
	s3, err := w.Snapshot(ctx, "")
	require.NoError(t, err)
	assert.Equal(t, s1.Tree, s3.Tree)
	assert.Equal(t, g.GitTree(), s3.Tree)
	checkObjects(t, g.Dir, s3.Tree)
	g.Git("fsck", "--no-progress", "--no-dangling")

	r, err := w.Resolve(ctx, s3.ID)
	require.NoError(t, err)
	assert.Equal(t, s3.Tree, r.Tree)
}

// TestSnapshotInLinkedWorktree: a worktree made by `git worktree add` has
// its own index and HEAD but shares objects and refs with the main one.
func TestSnapshotInLinkedWorktree(t *testing.T) {
	isolateGit(t)
	ctx := context.Background()
	g := NewRandomWorkspace(t, 5)
	g.Git("add", "-A")
	g.Git("commit", "-q", "--allow-empty", "-m", "base")
	wt := t.TempDir() + "/wt"
	g.Git("worktree", "add", "-q", "--detach", wt)
	require.NoError(t, os.WriteFile(wt+"/only-in-wt.txt", []byte("wt\n"), 0o644))

	w := openWorkspace(t, wt)
	s, err := w.Snapshot(ctx, "")
	require.NoError(t, err)
	wg := &RandomWorkspace{T: t, Dir: wt}
	indexPath := wg.Git("rev-parse", "--path-format=absolute", "--git-path", "index")
	tmp := t.TempDir() + "/index"
	b, err := os.ReadFile(indexPath)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(tmp, b, 0o644))
	_, err = wg.gitEnv([]string{"GIT_INDEX_FILE=" + tmp}, "add", "-A")
	require.NoError(t, err)
	want, err := wg.gitEnv([]string{"GIT_INDEX_FILE=" + tmp}, "write-tree")
	require.NoError(t, err)
	assert.Equal(t, want, s.Tree)
	assert.Equal(t, wg.Git("rev-parse", "HEAD"), s.Parent)
	// The ref is shared: the main worktree sees it.
	assert.Equal(t, s.Commit, g.Git("rev-parse", "refs/factory/snapshots/"+s.ID))
}

// TestSnapshotsSkipAnotherProcessesLockFile: a process creating a snapshot
// holds refs/factory/snapshots/<id>.lock, which holds a commit id as a ref
// does; another workspace listing snapshots meanwhile must not take it for
// a snapshot (proposals racing in two processes isolated "s-….lock").
func TestSnapshotsSkipAnotherProcessesLockFile(t *testing.T) {
	isolateGit(t)
	ctx := context.Background()
	g := NewRandomWorkspace(t, 1)
	g.Git("add", "-A")
	g.Git("commit", "-q", "--allow-empty", "-m", "base")
	w := openWorkspace(t, g.Dir)
	s1, err := w.Snapshot(ctx, "one")
	require.NoError(t, err)
	lock := filepath.Join(g.Dir, ".git", "refs", "factory", "snapshots", "s-abcdef0.lock")
	require.NoError(t, os.WriteFile(lock, []byte(s1.Commit+"\n"), 0o644))
	all, err := w.Snapshots(ctx, sandbox.SnapshotFilter{})
	require.NoError(t, err)
	require.Len(t, all, 1)
	assert.Equal(t, s1.ID, all[0].ID)
}
