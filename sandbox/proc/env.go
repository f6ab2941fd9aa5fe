package proc

import (
	"os"
	"sort"
	"strings"
)

// baseEnvNames are passed through by BaseEnv when set: the shell basics,
// locale, and the settings language toolchains need to find their caches.
var baseEnvNames = map[string]bool{
	"PATH": true, "HOME": true, "USER": true, "LOGNAME": true, "SHELL": true,
	"LANG": true, "LANGUAGE": true, "TERM": true, "TZ": true, "TMPDIR": true,
	"XDG_CACHE_HOME": true, "XDG_CONFIG_HOME": true, "XDG_DATA_HOME": true,
	"SSL_CERT_FILE": true, "SSL_CERT_DIR": true,
	// Go
	"GOPATH": true, "GOCACHE": true, "GOMODCACHE": true, "GOFLAGS": true, "GOPROXY": true,
	"GOROOT": true, "GOTOOLCHAIN": true, "GOPRIVATE": true, "GONOPROXY": true, "GONOSUMDB": true,
	"GOSUMDB": true, "GOENV": true, "GOWORK": true, "GOOS": true, "GOARCH": true, "GOAMD64": true,
	"GOTMPDIR": true, "GOEXPERIMENT": true, "CGO_ENABLED": true, "CC": true, "CXX": true,
	// Node
	"NODE_PATH": true, "NPM_CONFIG_CACHE": true, "NODE_ENV": true,
	// Rust
	"CARGO_HOME": true, "RUSTUP_HOME": true, "RUSTFLAGS": true, "CARGO_TARGET_DIR": true,
	// Python
	"PYTHONPATH": true, "VIRTUAL_ENV": true, "PYTHONDONTWRITEBYTECODE": true, "PYTHONHASHSEED": true,
	// JVM
	"JAVA_HOME": true, "MAVEN_OPTS": true,
}

// secretWords mark a variable name as secret-looking.
var secretWords = []string{"TOKEN", "SECRET", "KEY", "PASSWORD", "PASSWD", "PASSPHRASE",
	"CREDENTIAL", "AUTH", "COOKIE", "SESSION", "PRIVATE", "CERT_PASS", "API_"}

// looksSecret reports whether name looks like it holds a secret.
func looksSecret(name string) bool {
	u := strings.ToUpper(name)
	if u == "GOPRIVATE" || u == "SSL_CERT_FILE" || u == "SSL_CERT_DIR" {
		return false
	}
	for _, w := range secretWords {
		if strings.Contains(u, w) {
			return true
		}
	}
	return false
}

// BaseEnv returns the variables of os.Environ named in a fixed allowlist
// (PATH, HOME, locale, LC_*, language toolchain settings) plus those named
// in allow. An allow entry is an exact name or a prefix ending in "*"
// ("NPM_CONFIG_*"). Names that look like secrets (TOKEN, SECRET, KEY,
// PASSWORD, CREDENTIAL, ...) are dropped unless allow names them exactly.
// The result is sorted. It never fails.
func BaseEnv(allow []string) []string {
	return filterEnv(os.Environ(), allow)
}

func filterEnv(environ, allow []string) []string {
	exact := map[string]bool{}
	var prefixes []string
	for _, a := range allow {
		if p, ok := strings.CutSuffix(a, "*"); ok {
			if p != "" {
				prefixes = append(prefixes, p)
			}
			continue
		}
		exact[a] = true
	}
	seen := map[string]bool{}
	var out []string
	for _, kv := range environ {
		name, _, ok := strings.Cut(kv, "=")
		if !ok || name == "" || seen[name] {
			continue
		}
		keep := false
		switch {
		case exact[name]:
			keep = true // named exactly: passed even if it looks secret
		case looksSecret(name):
			keep = false
		case baseEnvNames[name], strings.HasPrefix(name, "LC_"):
			keep = true
		default:
			for _, p := range prefixes {
				if strings.HasPrefix(name, p) {
					keep = true
					break
				}
			}
		}
		if keep {
			seen[name] = true
			out = append(out, kv)
		}
	}
	sort.Strings(out)
	return out
}

// envGet returns the value of name in a "K=V" list, the last one winning.
func envGet(env []string, name string) string {
	v := ""
	for _, kv := range env {
		if k, val, ok := strings.Cut(kv, "="); ok && k == name {
			v = val
		}
	}
	return v
}
