// Package gitdir reads a repository's layout on disk without go-git: where
// a working tree's git dir and common dir are, and which commit a ref
// names (loose, symbolic or packed).
package gitdir

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
)

// CommonDir returns the repository's common git dir (the main .git of a
// linked worktree; the git dir itself otherwise).
func CommonDir(gitDir string) string {
	b, err := os.ReadFile(filepath.Join(gitDir, "commondir"))
	if err != nil {
		return gitDir
	}
	c := strings.TrimSpace(string(b))
	if !filepath.IsAbs(c) {
		c = filepath.Join(gitDir, c)
	}
	return filepath.Clean(c)
}

// NestedHead looks for a git repository whose working tree is dir (a
// directory holding a .git directory or a "gitdir:" file). isRepo says
// whether there is one; ok whether its HEAD names a commit, returned in h.
// This is git's resolve_gitlink_ref(dir, "HEAD").
func NestedHead(dir string) (h plumbing.Hash, isRepo, ok bool) {
	gitDir, ok := gitDirOf(dir)
	if !ok {
		return plumbing.ZeroHash, false, false
	}
	common := CommonDir(gitDir)
	if !isGitDir(gitDir, common) {
		return plumbing.ZeroHash, false, false
	}
	h, ok = ResolveRef(gitDir, common, "HEAD", 0)
	return h, true, ok
}

// gitDirOf returns the git directory of the working tree dir, if any.
func gitDirOf(dir string) (string, bool) {
	p := filepath.Join(dir, ".git")
	fi, err := os.Lstat(p)
	if err != nil {
		return "", false
	}
	if fi.IsDir() {
		return p, true
	}
	if !fi.Mode().IsRegular() {
		return "", false
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return "", false
	}
	t, found := strings.CutPrefix(string(b), "gitdir: ")
	if !found {
		return "", false
	}
	t = strings.TrimRight(t, "\r\n")
	if !filepath.IsAbs(t) {
		t = filepath.Join(dir, t)
	}
	return t, true
}

// isGitDir is git's is_git_directory: HEAD, objects/ and refs/ present.
func isGitDir(gitDir, common string) bool {
	if _, err := os.Stat(filepath.Join(gitDir, "HEAD")); err != nil {
		return false
	}
	for _, d := range []string{"objects", "refs"} {
		fi, err := os.Stat(filepath.Join(common, d))
		if err != nil || !fi.IsDir() {
			return false
		}
	}
	return true
}

// ResolveRef resolves a ref (HEAD or refs/...) of the repository at gitDir
// (common: its common dir) to a commit id, following symbolic refs.
func ResolveRef(gitDir, common, name string, depth int) (plumbing.Hash, bool) {
	if depth > 5 {
		return plumbing.ZeroHash, false
	}
	var b []byte
	var err error
	if name == "HEAD" {
		b, err = os.ReadFile(filepath.Join(gitDir, "HEAD"))
	} else {
		b, err = os.ReadFile(filepath.Join(gitDir, filepath.FromSlash(name)))
		if err != nil {
			b, err = os.ReadFile(filepath.Join(common, filepath.FromSlash(name)))
		}
	}
	if err != nil {
		if name == "HEAD" {
			return plumbing.ZeroHash, false
		}
		return packedRef(common, name)
	}
	s := strings.TrimSpace(string(b))
	if t, ok := strings.CutPrefix(s, "ref: "); ok {
		return ResolveRef(gitDir, common, strings.TrimSpace(t), depth+1)
	}
	return ParseHex(s)
}

// packedRef looks name up in the packed-refs file of common.
func packedRef(common, name string) (plumbing.Hash, bool) {
	f, err := os.Open(filepath.Join(common, "packed-refs"))
	if err != nil {
		return plumbing.ZeroHash, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	suffix := []byte(" " + name)
	for sc.Scan() {
		line := sc.Bytes()
		if len(line) > 41 && bytes.HasSuffix(line, suffix) && len(line) == 40+len(suffix) {
			return ParseHex(string(line[:40]))
		}
	}
	return plumbing.ZeroHash, false
}

// ParseHex parses a full 40-digit object id; false for anything else or
// the zero id.
func ParseHex(s string) (plumbing.Hash, bool) {
	var h plumbing.Hash
	if len(s) != 40 {
		return h, false
	}
	if _, err := hex.Decode(h[:], []byte(s)); err != nil {
		return h, false
	}
	return h, !h.IsZero()
}
