package sandbox

import (
	"path"
	"strings"

	"github.com/factory-dev/factory"
)

// checkRelPath validates a user-supplied workspace-relative path: not
// empty, not absolute, no "..", no ".git" component, no leading '-'. It
// returns the cleaned slash form.
func checkRelPath(p string) (string, error) {
	bad := func(why string) (string, error) {
		return "", factory.Errorf(factory.EINVALID, "path %q %s; give a path relative to the workspace root, like src/main.go", p, why)
	}
	if p == "" {
		return bad("is empty")
	}
	if strings.HasPrefix(p, "-") {
		return bad("begins with '-'")
	}
	if strings.HasPrefix(p, "/") || strings.HasPrefix(p, "\\") {
		return bad("is absolute")
	}
	if strings.ContainsRune(p, 0) {
		return bad("contains a NUL byte")
	}
	for _, c := range strings.Split(p, "/") {
		if c == ".." {
			return bad("leaves the workspace root")
		}
		if strings.EqualFold(c, ".git") {
			return bad("is inside .git")
		}
	}
	c := path.Clean(p)
	if c == "." {
		return "", nil // the whole tree
	}
	return c, nil
}

// underAny reports whether p is one of roots or inside one of them. An
// empty root ("") matches everything.
func underAny(p string, roots []string) bool {
	for _, r := range roots {
		if r == "" || p == r || strings.HasPrefix(p, r+"/") {
			return true
		}
	}
	return false
}
