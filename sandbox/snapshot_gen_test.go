package sandbox_test

import (
	"bytes"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"io/fs"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// This file is the random workspace generator shared by the differential
// tests of the sandbox package (snapshot capture here, restore in
// restore*_test.go). Use it like this:
//
//	isolateGit(t)                          // once per test: private HOME, no system config
//	g := NewRandomWorkspace(t, seed)       // a random repository in t.TempDir()
//	for i := 0; i < steps; i++ {
//	    what := g.Edit()                   // one random edit (or git operation)
//	    want := g.GitTree()                // the tree `git add -A` would write now
//	    ... compare with what factory captured; on failure print g.Seed and what
//	}
//
// Everything is driven by the seed: the same seed gives the same sequence of
// edits, so a failure is reproduced by running with that seed
// (FACTORY_SNAPSHOT_SEED=<seed>).

// isolateGit gives the test a private HOME and XDG_CONFIG_HOME (with a
// global excludes file in its default place) and turns off the system git
// configuration, so that neither the machine's nor the user's settings leak
// into git or into factory. It returns the global ignore file's path.
func isolateGit(t testing.TB) string {
	t.Helper()
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(home, ".config"))
	t.Setenv("GIT_CONFIG_NOSYSTEM", "1")
	t.Setenv("GIT_CONFIG_GLOBAL", "")
	os.Unsetenv("GIT_CONFIG_GLOBAL")
	for _, v := range []string{"GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY", "GIT_COMMON_DIR"} {
		if old, ok := os.LookupEnv(v); ok {
			os.Unsetenv(v)
			t.Cleanup(func() { os.Setenv(v, old) })
		}
	}
	t.Setenv("GIT_AUTHOR_NAME", "Test")
	t.Setenv("GIT_AUTHOR_EMAIL", "test@example.com")
	t.Setenv("GIT_COMMITTER_NAME", "Test")
	t.Setenv("GIT_COMMITTER_EMAIL", "test@example.com")
	ign := filepath.Join(home, ".config", "git", "ignore")
	require.NoError(t, os.MkdirAll(filepath.Dir(ign), 0o755))
	require.NoError(t, os.WriteFile(ign, []byte("*.globalign\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(home, ".gitconfig"),
		[]byte("[init]\n\tdefaultBranch = main\n[advice]\n\taddEmbeddedRepo = false\n\tdetachedHead = false\n"), 0o644))
	return ign
}

// RandomWorkspace is a git repository with a random tree that Edit keeps
// changing: nested .gitignore files with negations, ignored folders holding
// tracked files, symlinks, executables, binary files, unicode names,
// embedded repositories (gitlinks), commits, a detached HEAD, and files
// staged or not.
type RandomWorkspace struct {
	T    testing.TB
	Dir  string // top of the working tree
	Seed int64
	R    *rand.Rand
	Log  []string // the edits made so far, for failure messages
}

var (
	genDirNames  = []string{"a", "b", "build", "out", "cache", "sub", "keep", "doc", "x", "y", "node_modules", "日本", "é dir", "tmp1", "-dash"}
	genFileNames = []string{"a.txt", "b.log", "keep.log", "c.o", "important.o", "z.txt", "x.md", "bar.bin", "c.bin", "q.tmp",
		"#literal", "space ", "é.txt", "日本.txt", "-dash.txt", "!bang", "file~", "README", "y", "run.sh", "n.globalign", "ex.excl"}
	genPatterns = []string{"*.log", "!keep.log", "build/", "/out", "tmp*", "**/cache/", "a/**/z.txt", "*.o", "!important.o",
		"doc/*.md", "[bc]*.bin", "?.tmp", "node_modules", "\\#literal", "space\\ ", "*~", "!build/", "sub/", "!/sub/keep/",
		"x/*", "!x/y", "# a comment", "", "*.bin", "!c.bin", "y", "/*.txt", "!/a.txt", "**/keep", "b/**", "日本"}
)

// NewRandomWorkspace makes a random repository in a new temporary directory.
// About one in six starts empty (no commit); the others have a first
// commit. Call isolateGit first.
func NewRandomWorkspace(t testing.TB, seed int64) *RandomWorkspace {
	t.Helper()
	dir := t.TempDir()
	if r, err := filepath.EvalSymlinks(dir); err == nil {
		dir = r
	}
	g := &RandomWorkspace{T: t, Dir: dir, Seed: seed, R: rand.New(rand.NewSource(seed))}
	g.Git("init", "-q", ".")
	g.write(".git/info/exclude", "*.excl\n!keep.excl\n")
	n := 5 + g.R.Intn(25)
	for i := 0; i < n; i++ {
		g.newFile()
	}
	for i := 0; i < 1+g.R.Intn(3); i++ {
		g.newGitignore()
	}
	if g.R.Intn(6) != 0 {
		g.Git("add", "-A")
		g.forceAddIgnored()
		g.Git("commit", "-q", "-m", "first")
	} else if g.R.Intn(2) == 0 {
		g.Git("add", "-A") // staged but never committed
	}
	return g
}

// Git runs git in the workspace and returns its trimmed stdout; it fails
// the test when git fails.
func (g *RandomWorkspace) Git(args ...string) string {
	g.T.Helper()
	out, err := g.gitEnv(nil, args...)
	require.NoError(g.T, err, "seed %d: git %v\nedits: %s", g.Seed, args, strings.Join(g.Log, "; "))
	return out
}

func (g *RandomWorkspace) gitEnv(env []string, args ...string) (string, error) {
	cmd := exec.Command("git", args...)
	cmd.Dir = g.Dir
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%w: %s", err, stderr.String())
	}
	return strings.TrimSpace(stdout.String()), nil
}

// GitTree returns the tree native git writes for the current state:
// `GIT_INDEX_FILE=<copy of .git/index> git add -A && git write-tree`.
func (g *RandomWorkspace) GitTree() string {
	g.T.Helper()
	return GitTreeOf(g.T, g.Dir, g.Dir)
}

// GitTreeOf returns the tree native git writes for work tree dir with the
// repository (and a copy of the index, mtime kept) of the workspace at repo.
func GitTreeOf(t testing.TB, repo, dir string) string {
	t.Helper()
	// The copy keeps the index's mtime: git's racy-timestamp check compares
	// entries with it, and a fresh mtime would make git trust stat data that
	// a same-second, same-size edit left unchanged.
	tmp := filepath.Join(t.TempDir(), "index")
	if b, err := os.ReadFile(filepath.Join(repo, ".git", "index")); err == nil {
		fi, err := os.Stat(filepath.Join(repo, ".git", "index"))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(tmp, b, 0o644))
		require.NoError(t, os.Chtimes(tmp, fi.ModTime(), fi.ModTime()))
	}
	env := append(os.Environ(), "GIT_INDEX_FILE="+tmp, "GIT_DIR="+filepath.Join(repo, ".git"), "GIT_WORK_TREE="+dir)
	for _, args := range [][]string{{"add", "-A"}, {"write-tree"}} {
		cmd := exec.Command("git", args...)
		cmd.Dir, cmd.Env = dir, env
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "git %v: %s", args, out)
		if args[0] == "write-tree" {
			return strings.TrimSpace(string(out))
		}
	}
	return ""
}

// UserState fingerprints everything factory must never change: the bytes
// and mtime of .git/index, HEAD, every ref outside refs/factory/, and every
// file of the working tree (path, mode, size, mtime, content hash).
func (g *RandomWorkspace) UserState() string {
	g.T.Helper()
	return UserStateOf(g.T, g.Dir)
}

// UserStateOf is UserState for any repository.
func UserStateOf(t testing.TB, dir string) string {
	t.Helper()
	var b strings.Builder
	b.WriteString(gitStateOf(t, dir))
	var files []string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		rel, _ := filepath.Rel(dir, p)
		if rel == ".git" {
			return filepath.SkipDir
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return nil
		}
		line := fmt.Sprintf("%s %v %d %d", rel, fi.Mode(), fi.Size(), fi.ModTime().UnixNano())
		if fi.Mode().IsRegular() {
			c, _ := os.ReadFile(p)
			sum := sha1.Sum(c)
			line += " " + hex.EncodeToString(sum[:8])
		}
		files = append(files, line)
		return nil
	})
	sort.Strings(files)
	b.WriteString(strings.Join(files, "\n"))
	return b.String()
}

func (g *RandomWorkspace) pick(s []string) string { return s[g.R.Intn(len(s))] }

// randDir returns a random relative directory path (may be "").
func (g *RandomWorkspace) randDir() string {
	var parts []string
	for d := g.R.Intn(4); d > 0; d-- {
		parts = append(parts, g.pick(genDirNames))
	}
	return filepath.Join(parts...)
}

func (g *RandomWorkspace) content() []byte {
	switch g.R.Intn(5) {
	case 0: // binary
		b := make([]byte, g.R.Intn(300))
		g.R.Read(b)
		return b
	case 1:
		return nil // empty
	default:
		return []byte(fmt.Sprintf("line %d\nsecond %x\n", g.R.Int63(), g.R.Int63()))
	}
}

// write creates the file rel (and its parents), replacing whatever is on the
// way: a file where a directory is needed is removed.
func (g *RandomWorkspace) write(rel string, content string) {
	g.writeBytes(rel, []byte(content), 0o644)
}

func (g *RandomWorkspace) writeBytes(rel string, content []byte, mode os.FileMode) {
	p := filepath.Join(g.Dir, rel)
	g.makeParents(rel)
	if fi, err := os.Lstat(p); err == nil && fi.IsDir() {
		os.RemoveAll(p)
	}
	os.Remove(p) // a symlink would otherwise be followed
	require.NoError(g.T, os.WriteFile(p, content, mode))
	require.NoError(g.T, os.Chmod(p, mode))
}

func (g *RandomWorkspace) makeParents(rel string) {
	parts := strings.Split(filepath.Dir(rel), string(filepath.Separator))
	cur := g.Dir
	for _, p := range parts {
		if p == "." || p == "" {
			continue
		}
		cur = filepath.Join(cur, p)
		if fi, err := os.Lstat(cur); err == nil && !fi.IsDir() {
			os.Remove(cur)
		}
		if strings.HasSuffix(cur, string(filepath.Separator)+".git") {
			return
		}
		os.Mkdir(cur, 0o755)
	}
}

func (g *RandomWorkspace) newFile() string {
	rel := filepath.Join(g.randDir(), g.pick(genFileNames))
	mode := os.FileMode(0o644)
	if g.R.Intn(5) == 0 {
		mode = 0o755
	}
	g.writeBytes(rel, g.content(), mode)
	return rel
}

func (g *RandomWorkspace) newGitignore() string {
	var lines []string
	for i := 0; i < 1+g.R.Intn(5); i++ {
		lines = append(lines, g.pick(genPatterns))
	}
	rel := filepath.Join(g.randDir(), ".gitignore")
	g.write(rel, strings.Join(lines, "\n")+"\n")
	return rel
}

// forceAddIgnored adds a few ignored files by force, so that ignored
// folders hold tracked files.
func (g *RandomWorkspace) forceAddIgnored() {
	out, err := g.gitEnv(nil, "ls-files", "-o", "-i", "--exclude-standard", "-z")
	if err != nil || out == "" {
		return
	}
	ign := strings.Split(strings.TrimRight(out, "\x00"), "\x00")
	for i := 0; i < 1+g.R.Intn(3) && len(ign) > 0; i++ {
		p := ign[g.R.Intn(len(ign))]
		g.gitEnv(nil, "add", "-f", "--", p)
	}
}

// files lists the files and symlinks of the working tree (not in .git).
func (g *RandomWorkspace) files() []string {
	var out []string
	filepath.WalkDir(g.Dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		rel, _ := filepath.Rel(g.Dir, p)
		if d.IsDir() && (d.Name() == ".git") {
			return filepath.SkipDir
		}
		if !d.IsDir() {
			out = append(out, rel)
		}
		return nil
	})
	sort.Strings(out)
	return out
}

func (g *RandomWorkspace) dirs() []string {
	var out []string
	filepath.WalkDir(g.Dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		rel, _ := filepath.Rel(g.Dir, p)
		if d.IsDir() && d.Name() == ".git" {
			return filepath.SkipDir
		}
		if d.IsDir() && rel != "." {
			out = append(out, rel)
		}
		return nil
	})
	return out
}

// Edit makes one random change to the workspace and returns what it did.
func (g *RandomWorkspace) Edit() string {
	g.T.Helper()
	what := g.edit()
	g.Log = append(g.Log, what)
	return what
}

func (g *RandomWorkspace) edit() string {
	files := g.files()
	anyFile := func() string {
		if len(files) == 0 {
			return g.newFile()
		}
		return files[g.R.Intn(len(files))]
	}
	switch op := g.R.Intn(22); op {
	case 0, 1, 2:
		return "new " + g.newFile()
	case 3, 4:
		f := anyFile()
		g.writeBytes(f, g.content(), 0o644)
		return "rewrite " + f
	case 5: // same size, different content: stat data change only by mtime
		f := anyFile()
		b, _ := os.ReadFile(filepath.Join(g.Dir, f))
		for i := range b {
			b[i] ^= 1
		}
		fi, _ := os.Lstat(filepath.Join(g.Dir, f))
		g.writeBytes(f, b, fi.Mode().Perm())
		return "flip bytes " + f
	case 6:
		f := anyFile()
		os.Remove(filepath.Join(g.Dir, f))
		return "delete " + f
	case 7:
		f := anyFile()
		to := filepath.Join(g.randDir(), g.pick(genFileNames))
		g.makeParents(to)
		if fi, err := os.Lstat(filepath.Join(g.Dir, to)); err == nil && fi.IsDir() {
			return "rename skipped"
		}
		os.Rename(filepath.Join(g.Dir, f), filepath.Join(g.Dir, to))
		return "rename " + f + " -> " + to
	case 8:
		f := anyFile()
		p := filepath.Join(g.Dir, f)
		if fi, err := os.Lstat(p); err == nil && fi.Mode().IsRegular() {
			os.Chmod(p, fi.Mode().Perm()^0o111)
		}
		return "chmod " + f
	case 9: // symlink: to a file, to a directory, or dangling
		rel := filepath.Join(g.randDir(), g.pick(genFileNames))
		g.makeParents(rel)
		p := filepath.Join(g.Dir, rel)
		if fi, err := os.Lstat(p); err == nil && fi.IsDir() {
			os.RemoveAll(p)
		} else {
			os.Remove(p)
		}
		target := g.pick([]string{"a.txt", "../b", "nowhere/x", "日本.txt", "sub"})
		os.Symlink(target, p)
		return "symlink " + rel + " -> " + target
	case 10:
		return "gitignore " + g.newGitignore()
	case 11: // a file becomes a directory, or a directory a file
		if d := g.dirs(); len(d) > 0 && g.R.Intn(2) == 0 {
			x := d[g.R.Intn(len(d))]
			os.RemoveAll(filepath.Join(g.Dir, x))
			g.writeBytes(x, g.content(), 0o644)
			return "dir to file " + x
		}
		f := anyFile()
		os.Remove(filepath.Join(g.Dir, f))
		g.writeBytes(filepath.Join(f, g.pick(genFileNames)), g.content(), 0o644)
		return "file to dir " + f
	case 12:
		if d := g.dirs(); len(d) > 0 {
			x := d[g.R.Intn(len(d))]
			os.RemoveAll(filepath.Join(g.Dir, x))
			return "rmdir " + x
		}
		return "rmdir none"
	case 13: // commit everything
		g.Git("add", "-A")
		g.forceAddIgnored()
		g.Git("commit", "-q", "--allow-empty", "-m", "c")
		return "commit"
	case 14: // stage one file, then change it at once (racy entry)
		f := anyFile()
		g.gitEnv(nil, "add", "-f", "--", f)
		if fi, err := os.Lstat(filepath.Join(g.Dir, f)); err == nil && fi.Mode().IsRegular() {
			b, _ := os.ReadFile(filepath.Join(g.Dir, f))
			for i := range b {
				b[i] ^= 2
			}
			os.WriteFile(filepath.Join(g.Dir, f), b, fi.Mode().Perm())
		}
		return "add then change " + f
	case 15:
		if _, err := g.gitEnv(nil, "rev-parse", "--verify", "-q", "HEAD"); err == nil {
			g.Git("checkout", "-q", "--detach")
			return "detach HEAD"
		}
		return "detach skipped"
	case 16: // untrack a file
		f := anyFile()
		g.gitEnv(nil, "rm", "-q", "--cached", "--", f)
		return "untrack " + f
	case 17: // an embedded repository with a commit, sometimes added as a gitlink
		rel := filepath.Join(g.randDir(), "nested")
		p := filepath.Join(g.Dir, rel)
		g.makeParents(filepath.Join(rel, "x"))
		if fi, err := os.Lstat(filepath.Join(p, ".git")); err != nil || !fi.IsDir() {
			if _, err := g.gitEnv(nil, "-C", p, "init", "-q", "."); err != nil {
				return "nested skipped"
			}
		}
		os.WriteFile(filepath.Join(p, "f"), g.content(), 0o644)
		g.gitEnv(nil, "-C", p, "add", "-A")
		if _, err := g.gitEnv(nil, "-C", p, "commit", "-q", "--allow-empty", "-m", "n"); err != nil {
			return "nested commit failed"
		}
		if g.R.Intn(2) == 0 {
			g.gitEnv(nil, "add", "--", rel)
			return "gitlink " + rel
		}
		return "nested repo " + rel
	case 18: // touch: new mtime, same content
		f := anyFile()
		now := time.Now()
		os.Chtimes(filepath.Join(g.Dir, f), now, now)
		return "touch " + f
	case 19: // ignored junk, and ignored folders
		rel := filepath.Join(g.randDir(), g.pick([]string{"build", "node_modules", "cache"}), g.pick(genFileNames))
		g.writeBytes(rel, g.content(), 0o644)
		return "junk " + rel
	case 20:
		g.forceAddIgnored()
		return "force add"
	default: // info/exclude or the global excludes file changes
		if g.R.Intn(2) == 0 {
			g.write(".git/info/exclude", g.pick(genPatterns)+"\n"+g.pick(genPatterns)+"\n*.excl\n")
			return "info/exclude"
		}
		ign := filepath.Join(os.Getenv("XDG_CONFIG_HOME"), "git", "ignore")
		os.WriteFile(ign, []byte("*.globalign\n"+g.pick(genPatterns)+"\n"), 0o644)
		return "global ignore"
	}
}
