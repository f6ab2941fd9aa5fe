package proc

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// privateCache is a language cache a Seatbelt run gets a writable copy of.
// Linux lays a discarding overlay on the host's caches; Seatbelt can only
// allow or deny, and a cache the host's own tools read must not take a
// confined command's writes (a planted build-cache entry would be linked
// into the next host build). Nor may it outlive the run: a cache shared
// between runs would let one run's test plant entries a later gate run
// trusts. So each run gets its own copy, in its own directory, removed
// with it.
type privateCache struct {
	name string   // directory under the run's cache directory
	vars []string // variables naming the cache: all are dropped, the first is set to the copy
	host string   // the host's cache the copy starts as (a clone), "" to start empty
	why  string   // why host was not taken, "" when it was
}

// privateCaches lists the caches a confined command with env writes: Go's
// build cache (GOCACHE or go's default for goos), npm's cache, and
// CARGO_TARGET_DIR when env sets it outside the writable trees (cargo's
// default, target/ in the tree, is writable already). A host cache that
// is, holds or lies in one of the secret places is not cloned: the
// variables naming it come from the suite's environment, and GOCACHE=~
// must not copy ~/.ssh where the command can read it.
func privateCaches(env []string, home, goos string, writable, secrets []string) []privateCache {
	npm := envGet(env, "npm_config_cache")
	if npm == "" {
		npm = envGet(env, "NPM_CONFIG_CACHE")
	}
	if npm == "" && home != "" {
		npm = filepath.Join(home, ".npm")
	}
	out := []privateCache{{name: "go-build", vars: []string{"GOCACHE"}, host: hostGoCache(env, home, goos)},
		{name: "npm", vars: []string{"npm_config_cache", "NPM_CONFIG_CACHE"}, host: npm}}
	if t := envGet(env, "CARGO_TARGET_DIR"); filepath.IsAbs(t) && !underAny(filepath.Clean(t), writable) {
		out = append(out, privateCache{name: "cargo-target", vars: []string{"CARGO_TARGET_DIR"}})
	}
	for i, c := range out {
		if s := secretOverlap(c.host, secrets); s != "" {
			out[i].host, out[i].why = "", c.host+" overlaps the secret place "+s
		}
	}
	return out
}

// secretOverlap returns the secret place (a path or a glob) that p is,
// lies in or holds, "" when none. A glob counts from its first directory
// with a pattern character, so the answer errs on the side of refusing.
func secretOverlap(p string, secrets []string) string {
	if p == "" {
		return ""
	}
	p = filepath.Clean(p)
	for _, s := range secrets {
		dir := s
		if i := strings.IndexAny(s, "*?["); i >= 0 {
			dir = filepath.Dir(s[:i+1])
		}
		if under(p, dir) || under(dir, p) {
			return s
		}
	}
	return ""
}

// hostGoCache is the build cache go uses with env: GOCACHE when absolute,
// else os.UserCacheDir's answer for goos and home, plus go-build; "" when
// there is none.
func hostGoCache(env []string, home, goos string) string {
	if gc := envGet(env, "GOCACHE"); filepath.IsAbs(gc) {
		return gc
	}
	var base string
	switch {
	case goos == "darwin" && home != "":
		base = filepath.Join(home, "Library", "Caches")
	case goos == "darwin":
	case filepath.IsAbs(envGet(env, "XDG_CACHE_HOME")):
		base = envGet(env, "XDG_CACHE_HOME")
	case home != "":
		base = filepath.Join(home, ".cache")
	}
	if base == "" {
		return ""
	}
	return filepath.Join(base, "go-build")
}

// withPrivateCaches makes dir (which must not exist) and in it one
// directory per cache: a clone of the host's cache (clone, copy-on-write,
// such as APFS's clonefile) when there is one and it clones, else empty.
// It returns env with each cache's variables pointing at its copy and
// GOPROXY=off (the module cache stays read-only: a missing module fails at
// once, saying so, instead of downloading into nowhere), and notes saying
// where each copy came from.
func withPrivateCaches(env []string, dir string, caches []privateCache, clone func(src, dst string) error) ([]string, []string, error) {
	if err := os.Mkdir(dir, 0o700); err != nil {
		return nil, nil, fmt.Errorf("private caches: %w", err)
	}
	var notes []string
	for _, c := range caches {
		dst := filepath.Join(dir, c.name)
		how, err := fillCache(dst, c.host, clone)
		if c.why != "" {
			how = "private, empty (not cloned: " + c.why + "), discarded after the run"
		}
		if err != nil {
			return nil, nil, fmt.Errorf("private cache %s: %w", c.name, err)
		}
		notes = append(notes, c.vars[0]+" "+how)
		for _, v := range c.vars {
			env = withoutEnv(env, v)
		}
		env = append(env, c.vars[0]+"="+dst)
	}
	env = append(withoutEnv(env, "GOPROXY"), "GOPROXY=off")
	return env, notes, nil
}

// fillCache makes dst a clone of host, or an empty directory, and says
// which. The host's symlinks are resolved first: a cloned symlink would
// lead the command back to the host's cache. A clone that is not a plain
// directory is removed and replaced by an empty one.
func fillCache(dst, host string, clone func(src, dst string) error) (string, error) {
	how := "private, empty"
	if host != "" && clone != nil {
		if src, err := filepath.EvalSymlinks(host); err == nil {
			start := time.Now()
			if err := clone(src, dst); err == nil {
				how = fmt.Sprintf("private, a copy-on-write clone of %s (%s)", host, time.Since(start).Round(time.Millisecond))
			} else if !errors.Is(err, os.ErrNotExist) {
				how = "private, empty (cloning " + host + " failed: " + err.Error() + ")"
			}
		}
	}
	if st, err := os.Lstat(dst); err == nil && !st.IsDir() {
		if err := os.RemoveAll(dst); err != nil {
			return "", err
		}
		how = "private, empty"
	}
	if err := os.MkdirAll(dst, 0o700); err != nil {
		return "", err
	}
	return how + ", discarded after the run", nil
}

// privateCacheNote is the one note about the run's caches.
func privateCacheNote(notes []string) string {
	return "caches: " + strings.Join(notes, "; ") + "; GOPROXY=off (the module cache is read-only)"
}

// withoutEnv drops name from env.
func withoutEnv(env []string, name string) []string {
	var out []string
	for _, kv := range env {
		if !strings.HasPrefix(kv, name+"=") {
			out = append(out, kv)
		}
	}
	return out
}
