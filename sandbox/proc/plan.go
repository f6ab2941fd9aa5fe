package proc

import (
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"

	"github.com/factory-dev/factory"
)

// fsLayout is what a confined command's file system looks like, beyond the
// read-only host root, a private /tmp and fresh /dev and /proc. Paths are
// as on the host unless said otherwise.
type fsLayout struct {
	writable []string // bound writable at their own paths
	ro       []string // under /tmp, kept visible read-only (the private /tmp would hide them)
	// overlays are host caches (GOCACHE, ~/.cache, ...) shown writable over
	// a layer that is discarded with the sandbox: reads hit the host's
	// entries, writes never reach them.
	overlays  []string
	deps      []string // Confinement.Deps that passed: overlays shown at their own path over the copy
	protect   []string // git dirs inside a writable tree, made read-only again
	hideDirs  []string // as seen inside: replaced by an empty read-only tmpfs
	hideFiles []string // as seen inside: replaced by an empty file
	notes     []string
}

// defaultHidden are the secret places hidden in every sandbox: a leading
// "~/" means in every home directory (/root, each /home/*, and $HOME).
// Policy.Hide adds to them, Policy.Unhide takes away.
var defaultHidden = []string{
	"~/.ssh", "~/.gnupg", "~/.aws", "~/.azure", "~/.kube", "~/.config/gcloud", "~/.config/gh",
	"~/.docker/config.json", "~/.netrc", "~/.git-credentials", "~/.npmrc", "~/.pypirc",
	"~/.cargo/credentials", "~/.cargo/credentials.toml", "~/.vault-token",
	"/etc/shadow", "/etc/shadow-", "/etc/gshadow", "/etc/gshadow-", "/etc/sudoers",
	"/etc/ssh/ssh_host_*_key", "/etc/ssl/private",
}

// hidePatterns are the secret places a sandbox under pol hides, before
// Policy.Unhide: defaultHidden and Policy.Hide. Every mechanism (bwrap,
// native, the Seatbelt profile) takes them from here, so their lists
// cannot drift apart.
func hidePatterns(pol factory.SandboxPolicy) []string {
	return append(slices.Clone(defaultHidden), pol.Hide...)
}

// fsPlan lays out the file system of a confined command: the writable
// paths (Confine.Writable, Policy.Writable), the language caches that exist
// as discarded overlays, the git dirs of writable trees read-only, the
// secret places hidden, and the paths under /tmp to keep visible read-only
// (the working directory and the program's directory). Paths under mnt.Src
// are left out: the mount shows them, at mnt.Dst; so are read-only ones
// under mnt.Dst, which would show the live tree through the copy.
func fsPlan(c Cmd, env []string, path string, mnt Mount) (fsLayout, error) {
	var lay fsLayout
	home := envGet(env, "HOME")
	if home == "" {
		home, _ = os.UserHomeDir()
	}
	expand := func(p string) string { return expandHome(p, home) }
	var cands []string
	for _, w := range c.Confine.Writable {
		if !filepath.IsAbs(w) {
			return lay, factory.Errorf(factory.EINVALID, "writable path %q must be absolute", w)
		}
		if _, err := os.Stat(w); err != nil {
			return lay, factory.Errorf(factory.ENOTFOUND, "writable path %s: %v", w, err)
		}
		cands = append(cands, w)
	}
	for _, w := range c.Confine.Policy.Writable {
		p := expand(w)
		if !filepath.IsAbs(p) {
			return lay, factory.Errorf(factory.EINVALID, "sandbox writable path %q must be absolute or start with ~/", w)
		}
		if _, err := os.Stat(p); err != nil {
			lay.notes = append(lay.notes, "writable path "+p+" skipped: it does not exist")
			continue
		}
		cands = append(cands, p)
	}
	hidden := func(p string) bool { return mnt.Src != "" && under(p, mnt.Src) }
	lay.writable = slices.DeleteFunc(minimalCover(cands), hidden)
	lay.overlays = slices.DeleteFunc(minimalCover(cacheDirs(env, home)), func(p string) bool {
		return hidden(p) || underAny(p, lay.writable)
	})
	for _, p := range []string{c.Dir, filepath.Dir(path)} {
		if r, err := filepath.EvalSymlinks(p); err == nil {
			p = r
		}
		if underAny(p, []string{"/tmp"}) && !underAny(p, lay.writable) && !hidden(p) && !(mnt.Dst != "" && under(p, mnt.Dst)) {
			lay.ro = append(lay.ro, p)
		}
	}
	lay.ro = minimalCover(lay.ro)
	trees := lay.writable
	if mnt.Src != "" {
		trees = append(slices.Clone(trees), mnt.Src)
	}
	lay.protect = gitDirs(trees)
	lay.deps, lay.notes = depDirs(c.Confine.Deps, mnt, lay.notes)
	lay.hideDirs, lay.hideFiles = hiddenPaths(c.Confine.Policy, home, mnt)
	return lay, nil
}

// depDirs keeps the dependency directories that are real directories
// under mnt.Dst, checked without following a symlink at any level below
// it: a node_modules that is a symlink (to /etc, to a hidden secret place)
// would otherwise show its target inside. The child opens them again with
// O_NOFOLLOW, so a swap after this check fails the run instead.
func depDirs(deps []string, mnt Mount, notes []string) ([]string, []string) {
	var out []string
	for _, d := range deps {
		d = filepath.Clean(d)
		rel, err := filepath.Rel(mnt.Dst, d)
		if mnt.Dst == "" || err != nil || !filepath.IsAbs(d) || rel == "." || strings.HasPrefix(rel, "..") {
			notes = append(notes, "dependency directory "+d+" skipped: not inside the tree the copy stands for")
			continue
		}
		ok, p := true, mnt.Dst
		for _, part := range strings.Split(rel, "/") {
			p = filepath.Join(p, part)
			if st, err := os.Lstat(p); err != nil || !st.IsDir() {
				ok = false
				break
			}
		}
		if !ok {
			notes = append(notes, "dependency directory "+d+" skipped: not a directory (a symlink is never followed out of the tree)")
			continue
		}
		out = append(out, d)
	}
	return out, notes
}

// expandHome turns "~" and "~/x" into paths under home.
func expandHome(p, home string) string {
	if p == "~" {
		return home
	}
	if rest, ok := strings.CutPrefix(p, "~/"); ok && home != "" {
		return filepath.Join(home, rest)
	}
	return p
}

// cacheDirs lists the language caches of env that exist as directories.
// The Go build cache is created first (as go itself would): go test needs
// one, and an overlay needs a directory to lie on.
func cacheDirs(env []string, home string) []string {
	caches := []string{envGet(env, "GOCACHE"), envGet(env, "GOMODCACHE"), envGet(env, "XDG_CACHE_HOME"),
		envGet(env, "CARGO_HOME"), envGet(env, "NPM_CONFIG_CACHE")}
	if gp := envGet(env, "GOPATH"); gp != "" {
		caches = append(caches, filepath.Join(filepath.SplitList(gp)[0], "pkg", "mod"))
	}
	goCache := hostGoCache(env, home, runtime.GOOS)
	if goCache != "" {
		_ = os.MkdirAll(goCache, 0o755)
		caches = append(caches, goCache)
	}
	if home != "" {
		caches = append(caches, filepath.Join(home, ".cache"), filepath.Join(home, ".npm"),
			filepath.Join(home, ".cargo"), filepath.Join(home, "go", "pkg", "mod"))
	}
	var out []string
	for _, p := range caches {
		if p == "" || !filepath.IsAbs(p) {
			continue
		}
		if st, err := os.Stat(p); err == nil && st.IsDir() {
			out = append(out, p)
		}
	}
	return out
}

// gitDirs finds the git dirs a command could write through the given
// writable trees: each tree's and each of its ancestors' .git (a directory,
// or a file naming a worktree's git dir), and a worktree's common dir.
// Only those inside a tree are listed; the others are read-only already.
func gitDirs(trees []string) []string {
	var out []string
	for _, t := range trees {
		for d := t; ; d = filepath.Dir(d) {
			for _, g := range gitDirsAt(d) {
				if underAny(g, trees) {
					out = append(out, g)
				}
			}
			if d == "/" || d == "." {
				break
			}
		}
	}
	return minimalCover(out)
}

// gitDirsAt returns dir/.git resolved: the directory itself, or for a
// "gitdir: X" file X and X's common dir.
func gitDirsAt(dir string) []string {
	g := filepath.Join(dir, ".git")
	st, err := os.Lstat(g)
	switch {
	case err != nil:
		return nil
	case st.IsDir():
		return []string{g}
	case !st.Mode().IsRegular():
		return nil
	}
	b, err := os.ReadFile(g)
	if err != nil {
		return nil
	}
	gd, ok := strings.CutPrefix(strings.TrimSpace(string(b)), "gitdir:")
	if !ok {
		return nil
	}
	gd = strings.TrimSpace(gd)
	if !filepath.IsAbs(gd) {
		gd = filepath.Join(dir, gd)
	}
	out := []string{g, gd}
	if cb, err := os.ReadFile(filepath.Join(gd, "commondir")); err == nil {
		cd := strings.TrimSpace(string(cb))
		if !filepath.IsAbs(cd) {
			cd = filepath.Join(gd, cd)
		}
		out = append(out, filepath.Clean(cd))
	}
	return out
}

// hiddenPaths expands the secret places (defaultHidden and Policy.Hide,
// less Policy.Unhide) into the existing directories and files to hide, as
// seen inside.
func hiddenPaths(pol factory.SandboxPolicy, home string, mnt Mount) (dirs, files []string) {
	homes := []string{"/root"}
	if hs, err := filepath.Glob("/home/*"); err == nil {
		homes = append(homes, hs...)
	}
	if home != "" {
		homes = append(homes, home)
	}
	expandAll := func(pats []string) []string {
		var out []string
		for _, p := range pats {
			if p == "~" || strings.HasPrefix(p, "~/") {
				for _, h := range homes {
					out = append(out, expandHome(p, h))
				}
				continue
			}
			out = append(out, p)
		}
		return out
	}
	unhide := expandAll(pol.Unhide)
	seen := map[string]bool{}
	for _, pat := range expandAll(hidePatterns(pol)) {
		if slices.Contains(unhide, pat) {
			continue
		}
		matches, _ := filepath.Glob(pat)
		for _, p := range matches {
			p = filepath.Clean(p)
			if r, err := filepath.EvalSymlinks(p); err == nil {
				p = r
			}
			// What the live tree holds is not visible under the mount.
			if seen[p] || slices.Contains(unhide, p) || mnt.Dst != "" && under(p, mnt.Dst) && !under(p, mnt.Src) {
				continue
			}
			seen[p] = true
			st, err := os.Stat(p)
			switch {
			case err != nil:
			case st.IsDir():
				dirs = append(dirs, mnt.inside(p))
			default:
				files = append(files, mnt.inside(p))
			}
		}
	}
	return dirs, files
}
