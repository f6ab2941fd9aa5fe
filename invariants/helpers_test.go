package invariants

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/factory-dev/factory"
	"github.com/stretchr/testify/require"
)

// copyTree copies a directory of regular files.
func copyTree(t testing.TB, src, dst string) {
	t.Helper()
	require.NoError(t, filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	}))
}

// repoFrom makes a git repository holding a copy of an example workspace.
func repoFrom(t testing.TB, example string) string {
	t.Helper()
	dir := t.TempDir()
	gitIn(t, dir, nil, "init", "-q", "-b", "main")
	copyTree(t, example, dir)
	gitIn(t, dir, nil, "add", "-A")
	gitIn(t, dir, nil, "commit", "-q", "-m", "initial")
	return dir
}

// makePatch clones repo, lets edit change the clone, and returns the
// unified diff of the change (git's own).
func makePatch(t testing.TB, repo string, edit func(dir string)) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "clone")
	gitIn(t, "", nil, "clone", "-q", repo, dir)
	// carry over uncommitted live edits so the patch applies to the live tree
	if st := gitIn(t, repo, nil, "status", "--porcelain"); st != "" {
		d, err := gitTry(repo, nil, nil, "diff", "--binary", "HEAD")
		require.NoError(t, err)
		if d != "" {
			_, err = gitTry(dir, nil, []byte(d+"\n"), "apply", "-")
			require.NoError(t, err)
		}
	}
	gitIn(t, dir, nil, "add", "-A")
	gitIn(t, dir, nil, "commit", "-q", "--allow-empty", "-m", "live")
	edit(dir)
	gitIn(t, dir, nil, "add", "-A")
	out, err := gitTry(dir, nil, nil, "diff", "--cached")
	require.NoError(t, err)
	require.NotEmpty(t, out, "the edit changed nothing")
	return out + "\n"
}

// replaceIn replaces old by new in a file of dir; old must be there.
func replaceIn(t testing.TB, dir, path, old, new string) {
	t.Helper()
	full := filepath.Join(dir, filepath.FromSlash(path))
	b, err := os.ReadFile(full)
	require.NoError(t, err)
	require.Contains(t, string(b), old, path)
	require.NoError(t, os.WriteFile(full, []byte(strings.Replace(string(b), old, new, 1)), 0o644))
}

// treeState is every file of the working tree (outside .git) with its
// content hash, mode and modification time: equal states mean the tree was
// not touched at all.
func treeState(t testing.TB, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	require.NoError(t, filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if d.IsDir() {
			if rel == ".git" {
				return fs.SkipDir
			}
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		out[filepath.ToSlash(rel)] = fmt.Sprintf("%s %v %d", hex.EncodeToString(sum[:8]), fi.Mode(), fi.ModTime().UnixNano())
		return nil
	}))
	return out
}

func fileText(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return string(b)
}

// stepRecorder is a Steps that records phase names and can run a hook when
// a phase begins (to move the live tree while a proposal is in flight).
type stepRecorder struct {
	mu    sync.Mutex
	names []string
	ended map[string]string
	hook  map[string]func()
}

func (s *stepRecorder) Begin(ctx context.Context, name string) (context.Context, func(string, error)) {
	s.mu.Lock()
	s.names = append(s.names, name)
	h := s.hook[name]
	s.mu.Unlock()
	if h != nil {
		h()
	}
	return ctx, func(status string, err error) {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.ended == nil {
			s.ended = map[string]string{}
		}
		s.ended[name] = status
	}
}

func (s *stepRecorder) recorded() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string{}, s.names...)
}

func verdictByID(vs []factory.Verdict, id string) (factory.Verdict, bool) {
	for _, v := range vs {
		if v.ID == id {
			return v, true
		}
	}
	return factory.Verdict{}, false
}

// requireVerdict asserts a verdict's status and that its evidence (or
// message) contains each of the strings.
func requireVerdict(t testing.TB, vs []factory.Verdict, id, status string, evidence ...string) factory.Verdict {
	t.Helper()
	v, ok := verdictByID(vs, id)
	require.True(t, ok, "no verdict %s in %+v", id, vs)
	require.Equal(t, status, v.Status, "verdict %s: %+v", id, v)
	all := v.Message + "\n" + strings.Join(v.Evidence, "\n")
	for _, e := range evidence {
		require.Contains(t, all, e, "verdict %s", id)
	}
	return v
}
