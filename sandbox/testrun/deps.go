package testrun

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/goccy/go-yaml"
)

// depDirNames are the dependency directories a project keeps ignored in
// its tree and its tests need: npm's, a Python virtual environment's.
// Rust's target is one too, as a build cache, where there is a Cargo.toml.
var depDirNames = []string{"node_modules", ".venv", "venv"}

// liveDeps lists the dependency directories of the live tree root that
// the copy at dir lacks (ignored, so no snapshot holds them), as paths
// under root for proc's Confinement.Deps, which shows them over the copy
// copy-on-write. A name the copy has (tracked, or the copy is the live
// tree) is left alone; proc itself refuses symlinks. When target is
// shared, the copy's file times are aligned first (alignTimes), so cargo
// never takes a changed source for built.
func liveDeps(root, dir string) []string {
	if dir == root {
		return nil
	}
	names := depDirNames
	if _, err := os.Stat(filepath.Join(dir, "Cargo.toml")); err == nil {
		names = append(names[:len(names):len(names)], "target")
	}
	for _, w := range jsWorkspaces(root) {
		names = append(names[:len(names):len(names)], filepath.Join(w, "node_modules"))
	}
	var out []string
	for _, n := range names {
		st, err := os.Lstat(filepath.Join(root, n))
		if err != nil || (!st.IsDir() && st.Mode()&fs.ModeSymlink == 0) {
			continue
		}
		// An empty directory is no snapshot's (git keeps none): it is the
		// mount point an earlier run in this copy left.
		if ents, err := os.ReadDir(filepath.Join(dir, n)); err == nil && len(ents) == 0 {
		} else if _, err := os.Lstat(filepath.Join(dir, n)); !errors.Is(err, fs.ErrNotExist) {
			continue
		}
		out = append(out, filepath.Join(root, n))
		if n == "target" {
			alignTimes(root, dir)
		}
	}
	return out
}

// jsWorkspaces lists the package directories of a JavaScript monorepo at
// root, relative to it: package.json's "workspaces" (a list, or an object
// with "packages") and pnpm-workspace.yaml's packages, each a glob of
// directories ("packages/*"; a "**" or "!" pattern is left out). Their own
// node_modules (pnpm keeps one per package; npm and yarn when versions
// clash) are dependency directories too. At most maxWorkspaces.
func jsWorkspaces(root string) []string {
	var pats []string
	if b, err := os.ReadFile(filepath.Join(root, "package.json")); err == nil && len(b) < 1<<20 {
		var pj struct {
			Workspaces json.RawMessage `json:"workspaces"`
		}
		if json.Unmarshal(b, &pj) == nil && len(pj.Workspaces) > 0 {
			var obj struct {
				Packages []string `json:"packages"`
			}
			if json.Unmarshal(pj.Workspaces, &pats) != nil && json.Unmarshal(pj.Workspaces, &obj) == nil {
				pats = obj.Packages
			}
		}
	}
	if b, err := os.ReadFile(filepath.Join(root, "pnpm-workspace.yaml")); err == nil && len(b) < 1<<20 {
		var pw struct {
			Packages []string `yaml:"packages"`
		}
		if yaml.Unmarshal(b, &pw) == nil {
			pats = append(pats, pw.Packages...)
		}
	}
	var out []string
	for _, pat := range pats {
		pat = filepath.FromSlash(strings.TrimSuffix(filepath.ToSlash(pat), "/"))
		if strings.HasPrefix(pat, "!") || strings.Contains(pat, "**") || !filepath.IsLocal(pat) {
			continue
		}
		dirs, _ := filepath.Glob(filepath.Join(root, pat))
		for _, d := range dirs {
			rel, err := filepath.Rel(root, d)
			if st, serr := os.Lstat(d); err == nil && serr == nil && st.IsDir() && rel != "." && !slices.Contains(out, rel) {
				out = append(out, rel)
			}
		}
	}
	return out[:min(len(out), maxWorkspaces)]
}

// maxWorkspaces bounds the package directories jsWorkspaces lists.
const maxWorkspaces = 200

// networkSigns are what npm, npx, pip and cargo print when they reach for
// a network the sandbox does not give.
var networkSigns = []string{
	"EAI_AGAIN", "ENOTFOUND registry", "ENETUNREACH", "getaddrinfo", "Could not resolve host",
	"Temporary failure in name resolution", "NewConnectionError", "failed to download",
	"npm ERR! code E", "npm error code E", "Network is unreachable", "network is unreachable",
	"ENOTCACHED", "--offline was specified",
}

// offlineEnv is a suite's environment with npm told it is offline when the
// sandbox has no network (unless the suite says otherwise): npx and npm
// then fail at once on a package the project did not install, instead of
// retrying a registry they cannot reach for a minute.
func offlineEnv(env map[string]string, network bool) map[string]string {
	if network {
		return env
	}
	if _, set := env["npm_config_offline"]; set {
		return env
	}
	out := map[string]string{"npm_config_offline": "true"}
	for k, v := range env {
		out[k] = v
	}
	return out
}

// networkHint returns a note when a run that did not pass shows its runner
// reached for the network: the sandbox has none (unless sandbox.network),
// so the dependencies must already be in the workspace, where the copy
// finds them (liveDeps).
func networkHint(argv []string, log []byte, netAllowed bool) string {
	if netAllowed {
		return ""
	}
	hit := ""
	for _, s := range networkSigns {
		if bytes.Contains(log, []byte(s)) {
			hit = s
			break
		}
	}
	if hit == "" {
		return ""
	}
	fix := "install the project's dependencies in the workspace"
	switch filepath.Base(argv[0]) {
	case "npx", "npm", "node", "pnpm", "yarn":
		fix = "run `npm ci` (or your package manager's install) in the workspace, so node_modules holds the runner"
	case "cargo":
		fix = "run `cargo fetch` in the workspace (and use --offline), so the crates are in the cargo cache"
	}
	if strings.Contains(argv[0], "python") || slices.Contains(argv, "pytest") {
		fix = "create .venv in the workspace and install the test dependencies into it (`python3 -m venv .venv && .venv/bin/pip install -e .[test]`)"
	}
	return fmt.Sprintf("the runner tried the network (%q in the log), which the sandbox does not give: %s; dependencies in node_modules, .venv, venv and target are shown to every run. Or allow it with sandbox.network: true", hit, fix)
}

// maxAlignBytes bounds the files alignTimes compares with the live tree's;
// a larger one is taken as changed.
const maxAlignBytes = 1 << 20

// alignTimes prepares a copy that will build with the live tree's Rust
// target directory: cargo decides a crate of the workspace is fresh when
// no source is newer than its last build, by modification time alone. So
// each file of the copy (dir) that is byte-identical to the live tree's
// (root) gets the live file's times, and every other file the time now:
// what the live tree built from the same sources is reused, and what
// differs (a snapshot, a baseline, a proposed change) is rebuilt, never
// taken for fresh because the copy's files were made before the live
// build.
func alignTimes(root, dir string) {
	now := time.Now()
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		rel, _ := filepath.Rel(dir, p)
		if d.IsDir() {
			if rel == ".git" || rel == "target" || slices.Contains(depDirNames, rel) {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		mt := now
		if st, err := os.Lstat(filepath.Join(root, rel)); err == nil && st.Mode().IsRegular() && sameFile(p, filepath.Join(root, rel), st.Size()) {
			mt = st.ModTime()
		}
		_ = os.Chtimes(p, mt, mt)
		return nil
	})
}

// sameFile reports whether the files a and b (of size n) hold the same
// bytes; files over maxAlignBytes count as different.
func sameFile(a, b string, n int64) bool {
	if n > maxAlignBytes {
		return false
	}
	x, err := os.ReadFile(a)
	if err != nil || int64(len(x)) != n {
		return false
	}
	y, err := os.ReadFile(b)
	return err == nil && bytes.Equal(x, y)
}
