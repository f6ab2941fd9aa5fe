package patch

import (
	"errors"
	"fmt"
	"path"
	"strings"

	"github.com/factory-dev/factory"
)

// maxNameBytes is the longest file name (one path component) the file
// systems a workspace sits on hold: NAME_MAX of Linux and the BSDs. A
// longer one fails every lookup with ENAMETOOLONG, which is the patch's
// fault, not the disk's.
const maxNameBytes = 255

// checkPath returns why p is not a safe workspace-relative path, or nil.
func checkPath(p string) error {
	switch {
	case p == "":
		return errors.New("is empty")
	case strings.IndexByte(p, 0) >= 0:
		return errors.New("contains a NUL byte")
	case strings.IndexByte(p, '\\') >= 0:
		return errors.New("contains a backslash (use / between directories)")
	case strings.HasPrefix(p, "/"):
		return errors.New("is absolute (paths must be relative to the workspace root)")
	}
	for i := 0; i < len(p); i++ {
		if p[i] < 0x20 || p[i] == 0x7f {
			return errors.New("contains a control character")
		}
	}
	for _, c := range strings.Split(p, "/") {
		switch {
		case c == "":
			return errors.New("has an empty component (// or a trailing /)")
		case c == "." || c == "..":
			return fmt.Errorf("has a %q component (paths must stay inside the workspace)", c)
		case strings.EqualFold(c, ".git"):
			return errors.New("goes into .git (the repository's own files are never patched)")
		case len(c) > maxNameBytes:
			return fmt.Errorf("has a component of %d bytes; a file name holds at most %d", len(c), maxNameBytes)
		}
	}
	return nil
}

func pathError(line int, p string, err error) error {
	return factory.Errorf(factory.EINVALID, "patch line %d: path %q %v", line, p, err)
}

// checkPaths validates every path of the patch and the symlinks it creates:
// a created symlink may not point outside the workspace or into .git, and
// no path of the patch may lie under a symlink the patch creates.
func checkPaths(files []*filePatch) error {
	var problems []string
	add := func(format string, args ...any) {
		problems = append(problems, fmt.Sprintf(format, args...))
	}
	links := map[string]int{} // created symlink -> patch line
	for _, fp := range files {
		for _, p := range []string{fp.oldPath, fp.newPath} {
			if p == "" {
				continue
			}
			if err := checkPath(p); err != nil {
				add("patch line %d: path %q %v", fp.line, p, err)
			}
		}
		if fp.newPath != "" && fp.f.NewMode&0o170000 == 0o120000 {
			links[fp.newPath] = fp.line
			if target, ok := newSymlinkTarget(fp); ok {
				if err := checkLinkTarget(fp.newPath, target); err != nil {
					add("patch line %d: symlink %q -> %q %v", fp.line, fp.newPath, target, err)
				}
			}
		}
	}
	for _, fp := range files {
		for _, p := range []string{fp.oldPath, fp.newPath} {
			for dir := path.Dir(p); p != "" && dir != "." && dir != "/"; dir = path.Dir(dir) {
				if line, ok := links[dir]; ok {
					add("patch line %d: path %q lies under %q, a symlink this patch creates (patch line %d); write the file at its real location", fp.line, p, dir, line)
				}
			}
		}
	}
	if len(problems) == 0 {
		return nil
	}
	if len(problems) > 5 {
		problems = append(problems[:5], fmt.Sprintf("and %d more", len(problems)-5))
	}
	return factory.Errorf(factory.EINVALID, "unsafe patch, nothing was written: %s", strings.Join(problems, "; "))
}

// newSymlinkTarget returns the target of a symlink created from nothing
// (a new file), read from its only hunk. Targets of edited symlinks are
// checked after the hunks apply.
func newSymlinkTarget(fp *filePatch) (string, bool) {
	if !fp.f.IsNew || len(fp.f.TextFragments) != 1 {
		return "", false
	}
	var b strings.Builder
	for _, l := range fp.f.TextFragments[0].Lines {
		if l.New() {
			b.WriteString(l.Line)
		}
	}
	return b.String(), true
}

// checkLinkTarget returns why a symlink at link pointing to target would be
// unsafe: absolute, escaping the root, into .git, or unreadable.
func checkLinkTarget(link, target string) error {
	switch {
	case target == "":
		return errors.New("has an empty target")
	case strings.ContainsAny(target, "\x00\n"):
		return errors.New("target contains a NUL byte or a newline")
	case strings.HasPrefix(target, "/"):
		return errors.New("points to an absolute path (symlinks must stay inside the workspace)")
	case strings.IndexByte(target, '\\') >= 0:
		return errors.New("target contains a backslash")
	}
	resolved := path.Join(path.Dir(link), target)
	if resolved == ".." || strings.HasPrefix(resolved, "../") {
		return errors.New("points outside the workspace")
	}
	for _, c := range strings.Split(resolved, "/") {
		if strings.EqualFold(c, ".git") {
			return errors.New("points into .git")
		}
	}
	return nil
}
