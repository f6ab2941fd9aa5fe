package invariants

// Small real implementations of Workspace and gates.Runner for the package's own
// tests: snapshots are real git commits made with the git binary (under
// refs/fake/), isolated copies are real checkouts in temp dirs, patches are
// applied with `git apply`, promotion merges with `git merge-tree`, and
// commands are real subprocesses. The real sandbox is exercised by the
// external tests in sandbox_integration_test.go.
//
// The test suite parser is the sandbox's own (sandbox/report): a test-only
// import, which the architecture allows; non-test code never imports sandbox.

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/factory-dev/factory"
	"github.com/factory-dev/factory/internal/gocensus"
	"github.com/factory-dev/factory/invariants/gates"
	"github.com/factory-dev/factory/sandbox/report"
	"github.com/stretchr/testify/require"
)

func gitEnv(extra ...string) []string {
	env := append(os.Environ(),
		"GIT_AUTHOR_NAME=factory test", "GIT_AUTHOR_EMAIL=test@factory.invalid",
		"GIT_COMMITTER_NAME=factory test", "GIT_COMMITTER_EMAIL=test@factory.invalid",
		"GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null")
	return append(env, extra...)
}

// git runs git in dir and returns trimmed stdout.
func gitIn(t testing.TB, dir string, env []string, args ...string) string {
	t.Helper()
	out, err := gitTry(dir, env, nil, args...)
	require.NoError(t, err)
	return out
}

func gitTry(dir string, env []string, stdin []byte, args ...string) (string, error) {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = gitEnv(env...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("git %s: %v: %s%s", strings.Join(args, " "), err, stderr.String(), stdout.String())
	}
	return strings.TrimSpace(stdout.String()), nil
}

// newRepo makes a git repository with files committed.
func newRepo(t testing.TB, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	gitIn(t, dir, nil, "init", "-q", "-b", "main")
	writeFiles(t, dir, files)
	gitIn(t, dir, nil, "add", "-A")
	gitIn(t, dir, nil, "commit", "-q", "-m", "initial")
	return dir
}

func writeFiles(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for p, c := range files {
		full := filepath.Join(dir, filepath.FromSlash(p))
		require.NoError(t, os.MkdirAll(filepath.Dir(full), 0o755))
		require.NoError(t, os.WriteFile(full, []byte(c), 0o644))
	}
}

// fakeWS is a Workspace over the git binary.
type fakeWS struct {
	t    testing.TB
	root string

	mu    sync.Mutex
	snaps map[string]factory.Snapshot
	n     int

	isolations int
	land       sync.Mutex
	accepted   []string // trees MarkAccepted recorded, in order
}

func newFakeWS(t testing.TB, root string) *fakeWS {
	return &fakeWS{t: t, root: root, snaps: map[string]factory.Snapshot{}}
}

func (w *fakeWS) Root() string { return w.root }

func (w *fakeWS) Snapshot(ctx context.Context, label string) (factory.Snapshot, error) {
	return w.snapshotDir(ctx, w.root, label)
}

func (w *fakeWS) snapshotDir(ctx context.Context, dir, label string) (factory.Snapshot, error) {
	idx := filepath.Join(w.t.TempDir(), "index")
	env := []string{"GIT_INDEX_FILE=" + idx, "GIT_DIR=" + filepath.Join(w.root, ".git"), "GIT_WORK_TREE=" + dir}
	if _, err := gitTry(dir, env, nil, "add", "-A"); err != nil {
		return factory.Snapshot{}, err
	}
	tree, err := gitTry(dir, env, nil, "write-tree")
	if err != nil {
		return factory.Snapshot{}, err
	}
	head, _ := gitTry(w.root, nil, nil, "rev-parse", "HEAD")
	args := []string{"commit-tree", tree, "-m", label}
	if head != "" {
		args = append(args, "-p", head)
	}
	commit, err := gitTry(w.root, nil, nil, args...)
	if err != nil {
		return factory.Snapshot{}, err
	}
	s := w.add(factory.Snapshot{Commit: commit, Tree: tree, Parent: head, Label: label})
	gitIn(w.t, w.root, nil, "update-ref", "refs/fake/"+s.ID, commit)
	return s, nil
}

// add records a snapshot under the next id.
func (w *fakeWS) add(s factory.Snapshot) factory.Snapshot {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.n++
	s.ID, s.Created = fmt.Sprintf("s-%d", w.n), time.Now()
	w.snaps[s.ID] = s
	return s
}

func (w *fakeWS) Resolve(ctx context.Context, id string) (factory.Snapshot, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	s, ok := w.snaps[id]
	if !ok {
		return s, factory.Errorf(factory.ENOTFOUND, "snapshot %q not found", id)
	}
	return s, nil
}

// ResolveTree resolves a snapshot id, else a revision as SnapshotRevision.
func (w *fakeWS) ResolveTree(ctx context.Context, name string) (factory.Snapshot, error) {
	if s, err := w.Resolve(ctx, name); err == nil || strings.HasPrefix(name, "s-") {
		return s, err
	}
	if strings.HasPrefix(name, "-") {
		return factory.Snapshot{}, factory.Errorf(factory.EINVALID, "%q begins with '-'", name)
	}
	s, err := w.SnapshotRevision(ctx, name, "revision "+name)
	if err != nil {
		return s, factory.Errorf(factory.EINVALID, "%s: no such revision", name)
	}
	return s, nil
}

func (w *fakeWS) commits(from, to string) (string, string, error) {
	a, err := w.Resolve(context.Background(), from)
	if err != nil {
		return "", "", err
	}
	b, err := w.Resolve(context.Background(), to)
	return a.Commit, b.Commit, err
}

func (w *fakeWS) Diff(ctx context.Context, from, to string, maxPatch int) (factory.SnapshotDiff, error) {
	a, b, err := w.commits(from, to)
	if err != nil {
		return factory.SnapshotDiff{}, err
	}
	d := factory.SnapshotDiff{From: from, To: to}
	num, err := gitTry(w.root, nil, nil, "diff", "--numstat", "-z", "-M", a, b)
	if err != nil {
		return d, err
	}
	// -z numstat: "add\tdel\tpath\0" or "add\tdel\t\0old\0new\0"
	parts := strings.Split(num, "\x00")
	for i := 0; i < len(parts); i++ {
		f := strings.SplitN(parts[i], "\t", 3)
		if len(f) < 3 {
			continue
		}
		fs := factory.FileStat{Path: f[2]}
		fs.Additions, _ = strconv.Atoi(f[0])
		fs.Deletions, _ = strconv.Atoi(f[1])
		if f[2] == "" {
			fs.OldPath, fs.Path = parts[i+1], parts[i+2]
			i += 2
		}
		d.Files = append(d.Files, fs)
	}
	st, err := gitTry(w.root, nil, nil, "diff", "--name-status", "-M", a, b)
	if err != nil {
		return d, err
	}
	for i, line := range strings.Split(st, "\n") {
		if line == "" || i >= len(d.Files) {
			continue
		}
		switch line[0] {
		case 'A':
			d.Files[i].Status = factory.StatusAdded
		case 'D':
			d.Files[i].Status = factory.StatusDeleted
		case 'R':
			d.Files[i].Status = factory.StatusRenamed
		default:
			d.Files[i].Status = factory.StatusModified
		}
	}
	return d, nil
}

func (w *fakeWS) FullDiff(ctx context.Context, from, to string) (string, error) {
	a, b, err := w.commits(from, to)
	if err != nil {
		return "", err
	}
	cmd := exec.Command("git", "diff", "-M", a, b)
	cmd.Dir = w.root
	out, err := cmd.Output()
	return string(out), err
}

// fakeCopy is a checkout of a snapshot in a temporary directory.
type fakeCopy struct {
	w   *fakeWS
	dir string
}

func (c *fakeCopy) Dir() string  { return c.dir }
func (c *fakeCopy) Close() error { return os.RemoveAll(c.dir) }
func (c *fakeCopy) Snapshot(ctx context.Context, label string) (factory.Snapshot, error) {
	return c.w.snapshotDir(ctx, c.dir, label)
}

func (w *fakeWS) Isolate(ctx context.Context, id string) (Copy, error) {
	s, err := w.Resolve(ctx, id)
	if err != nil {
		return nil, err
	}
	w.mu.Lock()
	w.isolations++
	w.mu.Unlock()
	dir, err := os.MkdirTemp("", "inv-copy-")
	if err != nil {
		return nil, err
	}
	env := []string{"GIT_INDEX_FILE=" + filepath.Join(dir, ".idx")}
	if _, err := gitTry(w.root, env, nil, "read-tree", s.Tree); err != nil {
		return nil, err
	}
	if _, err := gitTry(w.root, env, nil, "checkout-index", "-a", "--prefix="+dir+"/"); err != nil {
		return nil, err
	}
	os.Remove(filepath.Join(dir, ".idx"))
	return &fakeCopy{w: w, dir: dir}, nil
}

func (c *fakeCopy) Apply(ctx context.Context, req factory.PatchRequest) (factory.PatchReport, error) {
	dir := c.dir
	env := []string{"GIT_CEILING_DIRECTORIES=" + filepath.Dir(dir)}
	if _, err := gitTry(dir, env, []byte(req.Patch), "apply", "--check", "-"); err != nil {
		return factory.PatchReport{Conflicts: []factory.HunkConflict{{Reason: err.Error()}}}, nil
	}
	if _, err := gitTry(dir, env, []byte(req.Patch), "apply", "-"); err != nil {
		return factory.PatchReport{}, err
	}
	return factory.PatchReport{Applied: true}, nil
}

// Promote: when the live tree still is the base, apply base->result; else
// merge live and result on base with git merge-tree and write live->merged.
func (w *fakeWS) Promote(ctx context.Context, baseID, resultID string) (factory.RestoreResult, error) {
	base, err := w.Resolve(ctx, baseID)
	if err != nil {
		return factory.RestoreResult{}, err
	}
	result, err := w.Resolve(ctx, resultID)
	if err != nil {
		return factory.RestoreResult{}, err
	}
	live, err := w.Snapshot(ctx, "before promote")
	if err != nil {
		return factory.RestoreResult{}, err
	}
	target := result.Tree
	if live.Tree != base.Tree {
		l := gitIn(w.t, w.root, nil, "commit-tree", live.Tree, "-p", base.Commit, "-m", "live")
		r := gitIn(w.t, w.root, nil, "commit-tree", result.Tree, "-p", base.Commit, "-m", "result")
		out, err := gitTry(w.root, nil, nil, "merge-tree", "--write-tree", "--name-only", l, r)
		if err != nil {
			return factory.RestoreResult{}, factory.Errorf(factory.ECONFLICT, "merge conflict: %s", strings.TrimSpace(out))
		}
		target = strings.SplitN(out, "\n", 2)[0]
	}
	st := gitIn(w.t, w.root, nil, "diff", "--name-status", "--no-renames", live.Tree, target)
	patch, err := gitTry(w.root, nil, nil, "diff", "--binary", "--no-renames", live.Tree, target)
	if err != nil {
		return factory.RestoreResult{}, err
	}
	rr := factory.RestoreResult{Target: resultID, Undo: live.ID}
	if patch == "" {
		return rr, nil
	}
	if _, err := gitTry(w.root, nil, []byte(patch+"\n"), "apply", "-"); err != nil {
		return factory.RestoreResult{}, err
	}
	for _, line := range strings.Split(st, "\n") {
		f := strings.SplitN(line, "\t", 2)
		if len(f) < 2 {
			continue
		}
		if f[0] == "D" {
			rr.Deleted = append(rr.Deleted, f[1])
		} else {
			rr.Written = append(rr.Written, f[1])
		}
	}
	return rr, nil
}

// execRunner runs commands as plain subprocesses.
type execRunner struct {
	mu       sync.Mutex
	commands [][]string
	suites   int
	// view, when set, runs every command but Host ones in a directory
	// showing c.Root (or c.Dir) at another path, as the sandbox's
	// Confinement.MountAs does: a symlink made for the run (with PWD pointing at it, so the go
	// tool prints paths under it) and removed right after, so a path the
	// command printed is of no use on the host unless read relative to
	// gates.CommandResult.Dir.
	view bool
}

func (r *execRunner) RunCommand(ctx context.Context, c gates.Command) (gates.CommandResult, error) {
	r.mu.Lock()
	r.commands = append(r.commands, c.Argv)
	r.mu.Unlock()
	timeout := c.Timeout
	if timeout == 0 {
		timeout = 10 * time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.Argv[0], c.Argv[1:]...)
	cmd.Dir = c.Dir
	cmd.Env = gitEnv()
	seen := ""
	if r.view {
		tmp, err := os.MkdirTemp("", "inv-view-")
		if err != nil {
			return gates.CommandResult{}, err
		}
		defer os.RemoveAll(tmp)
		root := c.Root
		if root == "" {
			root = c.Dir
		}
		rel, err := filepath.Rel(root, c.Dir)
		if err != nil || !(rel == "." || filepath.IsLocal(rel)) {
			return gates.CommandResult{}, fmt.Errorf("dir %s is not in root %s", c.Dir, root)
		}
		if err := os.Symlink(root, filepath.Join(tmp, "tree")); err != nil {
			return gates.CommandResult{}, err
		}
		seen = filepath.Join(tmp, "tree", rel)
		cmd.Dir = seen
		cmd.Env = append(cmd.Env, "PWD="+seen)
	}
	for k, v := range c.Env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	res := gates.CommandResult{Stdout: stdout.Bytes(), Stderr: stderr.Bytes(), Duration: time.Since(start), Dir: seen}
	if cmd.ProcessState != nil {
		res.CPU = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	}
	if ee, ok := err.(*exec.ExitError); ok {
		res.ExitCode = ee.ExitCode()
		res.TimedOut = ctx.Err() != nil
		return res, nil
	}
	return res, err
}

func (r *execRunner) RunSuite(ctx context.Context, run gates.SuiteRun) (factory.TestReport, error) {
	r.mu.Lock()
	r.suites++
	r.mu.Unlock()
	// as the sandbox does: a result from go's test cache is not a run
	res, err := r.RunCommand(ctx, gates.Command{Argv: gocensus.NoCache(run.Suite.Run), Dir: run.Dir, Env: run.Suite.Env, Timeout: run.Suite.Timeout})
	if err != nil {
		return factory.TestReport{}, err
	}
	var parsed *report.Result
	if run.Suite.Format == factory.FormatGoJSON {
		parsed = report.ParseGoJSON(res.Stdout, res.Stderr, res.TimedOut)
	}
	rep := report.Build(parsed, report.Input{Suite: run.Suite.Name, Format: run.Suite.Format, ExitCode: res.ExitCode,
		TimedOut: res.TimedOut, Log: append(res.Stdout, res.Stderr...), Root: run.Dir})
	rep.Snapshot = run.Snapshot
	return rep, nil
}

func (r *execRunner) count(argv0 string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, a := range r.commands {
		if strings.Join(a, " ") == argv0 || (len(a) > 1 && a[0]+" "+a[1] == argv0) {
			n++
		}
	}
	return n
}

// SnapshotRevision snapshots the tree of a committed revision.
func (w *fakeWS) SnapshotRevision(ctx context.Context, rev, label string) (factory.Snapshot, error) {
	commit, err := gitTry(w.root, nil, nil, "rev-parse", "--verify", "--end-of-options", rev+"^{commit}")
	if err != nil {
		return factory.Snapshot{}, factory.Errorf(factory.ENOTFOUND, "no revision %s: %v", rev, err)
	}
	tree := gitIn(w.t, w.root, nil, "rev-parse", commit+"^{tree}")
	return w.add(factory.Snapshot{Commit: commit, Tree: tree, Parent: commit, Label: label}), nil
}

// ReadFileAt reads a committed file with git show.
func (w *fakeWS) ReadFileAt(ctx context.Context, rev, path string) ([]byte, error) {
	cmd := exec.Command("git", "cat-file", "blob", rev+":"+path)
	cmd.Dir, cmd.Env = w.root, gitEnv()
	out, err := cmd.Output()
	if err != nil {
		return nil, factory.Errorf(factory.ENOTFOUND, "%s at %s: %v", path, rev, err)
	}
	return out, nil
}

// LockLanding holds the fake's landing mutex.
func (w *fakeWS) LockLanding(ctx context.Context) (func(), error) {
	w.land.Lock()
	return w.land.Unlock, nil
}

// Commit commits tree on HEAD with plumbing.
func (w *fakeWS) Commit(ctx context.Context, tree, message string) (string, error) {
	args := []string{"commit-tree", tree}
	if head, err := gitTry(w.root, nil, nil, "rev-parse", "--verify", "HEAD"); err == nil {
		args = append(args, "-p", head)
	}
	c, err := gitTry(w.root, nil, []byte(message), args...)
	if err != nil {
		return "", err
	}
	if _, err := gitTry(w.root, nil, nil, "update-ref", "HEAD", c); err != nil {
		return "", err
	}
	_, err = gitTry(w.root, nil, nil, "read-tree", c)
	return c, err
}

// MarkAccepted records the snapshot's tree.
func (w *fakeWS) MarkAccepted(ctx context.Context, snapshotID string) error {
	s, err := w.Resolve(ctx, snapshotID)
	if err != nil {
		return err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.accepted = append(w.accepted, s.Tree)
	return nil
}
