package gitstore

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"

	gitconfig "github.com/go-git/go-git/v5/plumbing/format/config"

	"github.com/factory-dev/factory/sandbox/gitstore/gitdir"
	"github.com/factory-dev/factory/sandbox/gitstore/gitignore"
)

// captureConfig is what the capture needs from git's configuration.
type captureConfig struct {
	excludesFile   string // core.excludesFile, or its default; "" if none
	attributesFile string // core.attributesFile, or its default
	// needGit is non-empty when a setting changes what `git add` stores in
	// a way the native walk does not reproduce; it names the setting.
	needGit string
}

// gitConfigFiles lists the configuration files git reads, lowest priority
// first: system, global (XDG, then ~/.gitconfig), the repository's own.
func gitConfigFiles(gitDir string) []string {
	var files []string
	if os.Getenv("GIT_CONFIG_NOSYSTEM") == "" {
		if s := os.Getenv("GIT_CONFIG_SYSTEM"); s != "" {
			files = append(files, s)
		} else {
			files = append(files, "/etc/gitconfig")
		}
	}
	if g := os.Getenv("GIT_CONFIG_GLOBAL"); g != "" {
		files = append(files, g)
	} else {
		if x := xdgConfigHome(); x != "" {
			files = append(files, filepath.Join(x, "git", "config"))
		}
		if h := os.Getenv("HOME"); h != "" {
			files = append(files, filepath.Join(h, ".gitconfig"))
		}
	}
	common := gitdir.CommonDir(gitDir)
	files = append(files, filepath.Join(common, "config"))
	if common != gitDir {
		files = append(files, filepath.Join(gitDir, "config.worktree"))
	}
	return files
}

func xdgConfigHome() string {
	if x := os.Getenv("XDG_CONFIG_HOME"); x != "" {
		return x
	}
	if h := os.Getenv("HOME"); h != "" {
		return filepath.Join(h, ".config")
	}
	return ""
}

// readCaptureConfig reads the settings the capture depends on.
func readCaptureConfig(gitDir string) captureConfig {
	vals := map[string]string{} // "section.key" (lowercase) -> last value
	var read func(path string, depth int)
	read = func(path string, depth int) {
		b, err := os.ReadFile(path)
		if err != nil || depth > 10 {
			return
		}
		cfg := gitconfig.New()
		if err := gitconfig.NewDecoder(bytes.NewReader(b)).Decode(cfg); err != nil {
			return
		}
		for _, s := range cfg.Sections {
			sec := strings.ToLower(s.Name)
			for _, o := range s.Options {
				k := sec + "." + strings.ToLower(o.Key)
				vals[k] = o.Value
				if k == "include.path" {
					p := expandHome(o.Value)
					if !filepath.IsAbs(p) {
						p = filepath.Join(filepath.Dir(path), p)
					}
					read(p, depth+1)
				}
			}
		}
	}
	for _, f := range gitConfigFiles(gitDir) {
		read(f, 0)
	}
	var c captureConfig
	if v, ok := vals["core.excludesfile"]; ok {
		c.excludesFile = expandHome(v)
	} else if x := xdgConfigHome(); x != "" {
		c.excludesFile = filepath.Join(x, "git", "ignore")
	}
	if v, ok := vals["core.attributesfile"]; ok {
		c.attributesFile = expandHome(v)
	} else if x := xdgConfigHome(); x != "" {
		c.attributesFile = filepath.Join(x, "git", "attributes")
	}
	isTrue := func(k string) bool {
		switch strings.ToLower(strings.TrimSpace(vals[k])) {
		case "true", "yes", "on", "1":
			return true
		}
		return false
	}
	isFalse := func(k string) bool {
		switch strings.ToLower(strings.TrimSpace(vals[k])) {
		case "false", "no", "off", "0":
			return true
		}
		return false
	}
	switch {
	case strings.ToLower(vals["extensions.objectformat"]) != "" && strings.ToLower(vals["extensions.objectformat"]) != "sha1":
		c.needGit = "extensions.objectFormat=" + vals["extensions.objectformat"]
	case isTrue("core.autocrlf") || strings.EqualFold(strings.TrimSpace(vals["core.autocrlf"]), "input"):
		c.needGit = "core.autocrlf"
	case isFalse("core.filemode"):
		c.needGit = "core.fileMode=false"
	case isFalse("core.symlinks"):
		c.needGit = "core.symlinks=false"
	case isTrue("core.ignorecase"):
		c.needGit = "core.ignoreCase=true"
	case isTrue("core.sparsecheckout"):
		c.needGit = "core.sparseCheckout"
	case vals["core.worktree"] != "":
		c.needGit = "core.worktree"
	}
	if c.needGit == "" {
		for _, f := range []string{c.attributesFile, filepath.Join(gitdir.CommonDir(gitDir), "info", "attributes")} {
			if b, err := os.ReadFile(f); err == nil && attributesNeedGit(b) {
				c.needGit = f
			}
		}
	}
	return c
}

func expandHome(p string) string {
	if rest, ok := strings.CutPrefix(p, "~/"); ok {
		if h := os.Getenv("HOME"); h != "" {
			return filepath.Join(h, rest)
		}
	}
	return p
}

// attributesNeedGit reports whether gitattributes content may make `git add`
// store something other than the bytes on disk: a filter, a text or eol
// setting, ident, or a working-tree encoding. Unsetting (-text, binary) is
// harmless. The check is deliberately broad: a false positive only costs
// speed (git does the capture), a false negative would store wrong content.
func attributesNeedGit(b []byte) bool {
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		fields := strings.Fields(line)
		for _, a := range fields[1:] {
			if strings.HasPrefix(a, "-") || strings.HasPrefix(a, "!") {
				continue
			}
			name, _, _ := strings.Cut(a, "=")
			switch name {
			case "text", "eol", "crlf", "filter", "ident", "working-tree-encoding":
				return true
			}
		}
		if strings.HasPrefix(fields[0], "[attr]") {
			// A macro could hide any of the above behind a new name.
			return true
		}
	}
	return false
}

// globalRules returns the ignore rules that apply everywhere: info/exclude
// first (it wins over core.excludesFile), then core.excludesFile.
func globalRules(gitDir string, cfg captureConfig) *gitignore.Rules {
	r := &gitignore.Rules{}
	for _, f := range []string{filepath.Join(gitdir.CommonDir(gitDir), "info", "exclude"), cfg.excludesFile} {
		if f == "" {
			continue
		}
		if b, err := os.ReadFile(f); err == nil {
			r.AddGlobal(gitignore.Parse("", b))
		}
	}
	return r
}
