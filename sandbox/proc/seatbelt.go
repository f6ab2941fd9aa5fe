package proc

import (
	"regexp"
	"slices"
	"strings"

	"github.com/factory-dev/factory"
)

// SeatbeltParams is what a Seatbelt (macOS sandbox-exec) profile is made
// of. Paths are absolute and as the kernel resolves them: Seatbelt matches
// the real path, so /tmp is /private/tmp (the generator adds the /private
// form of /etc, /tmp and /var paths itself).
type SeatbeltParams struct {
	Policy   factory.SandboxPolicy // Network, Hide and Unhide are read
	Home     string                // the command's HOME: "~/" in Hide, Unhide and the default secret places means here; "" drops those
	Writable []string              // the copy and the other writable trees: read and write
	Protect  []string              // git dirs inside Writable: read-only again
	Private  []string              // the run's own copies of the caches it writes (privateCaches), discarded after it: read and write
	Tmp      string                // the private temporary directory ($TMPDIR): read and write; "" for none
}

// seatbeltHidden are secret places only a Mac has, hidden besides
// hidePatterns': the login keychains and Safari's cookies.
var seatbeltHidden = []string{"~/Library/Keychains", "~/Library/Cookies"}

// SeatbeltProfile writes the SBPL profile a confined command runs under on
// macOS: deny by default; exec, fork and signals within the sandbox; read
// everywhere, as the Linux sandboxes do (the host read-only: toolchains
// under the home directory, ~/.rustup, ~/.nvm, a virtualenv, git's
// ~/.gitconfig are where they are); read and write only p.Writable,
// p.Private and p.Tmp; no network, or, with Policy.Network, loopback only;
// and, last so that they win over every allow, the secret places
// unreadable and unwritable. The output is a pure function of p, so it is
// tested byte for byte on any platform.
func SeatbeltProfile(p SeatbeltParams) string {
	var b strings.Builder
	b.WriteString("(version 1)\n(deny default)\n")
	b.WriteString("(allow process-exec process-fork)\n(allow signal (target same-sandbox))\n(allow process-info* (target same-sandbox))\n")
	b.WriteString("(allow sysctl-read)\n(allow mach-lookup)\n(allow ipc-posix-shm ipc-posix-sem)\n(allow user-preference-read)\n")
	// Mapping a library executable is an operation of its own, not a read:
	// without it nothing linked outside the shared cache starts.
	b.WriteString("(allow file-read*)\n(allow file-map-executable)\n(allow file-ioctl)\n(allow pseudo-tty)\n")
	b.WriteString("(allow file-write-data (literal \"/dev/null\") (literal \"/dev/zero\") (literal \"/dev/tty\") (regex #\"^/dev/fd/\"))\n")
	var rw []string
	rw = append(rw, p.Writable...)
	rw = append(rw, p.Private...)
	if p.Tmp != "" {
		rw = append(rw, p.Tmp)
	}
	rule(&b, "allow file-read* file-write*", rw)
	// Unix sockets are network to Seatbelt: a test's socket in its tree or
	// TMPDIR works, as on Linux, with the network off.
	if len(rw) > 0 {
		b.WriteString("(allow system-socket (socket-domain AF_UNIX))\n")
		filtered(&b, "allow network-bind network-inbound", rw, "(local unix-socket %s)")
		filtered(&b, "allow network-outbound", rw, "(remote unix-socket %s)")
	}
	rule(&b, "deny file-write*", p.Protect)
	if p.Policy.Network {
		b.WriteString("(allow network* (local ip \"localhost:*\"))\n(allow network* (remote ip \"localhost:*\"))\n")
	}
	rule(&b, "deny file-read* file-write*", seatbeltSecrets(p.Policy, p.Home))
	return b.String()
}

// rule writes one rule over paths, each matching itself and what is below
// it; a path with a glob becomes a regular expression.
func rule(b *strings.Builder, action string, paths []string) { filtered(b, action, paths, "%s") }

// filtered is rule with each path's filter placed in form ("%s" for the
// path filter itself): one filter per path, any of which matches.
func filtered(b *strings.Builder, action string, paths []string, form string) {
	if len(paths) == 0 {
		return
	}
	b.WriteString("(" + action)
	for _, p := range paths {
		for _, q := range privateForms(p) {
			f := "(subpath " + sbplString(q) + ")"
			if strings.ContainsAny(q, "*?[") {
				f = "(regex #\"" + globRegex(q) + "\")"
			}
			b.WriteString("\n  " + strings.Replace(form, "%s", f, 1))
		}
	}
	b.WriteString(")\n")
}

// seatbeltTrial is a profile with every kind of rule SeatbeltProfile
// writes, over paths that need not exist: Detect runs a command under it,
// so a macOS that no longer parses one of them disables Seatbelt with a
// note instead of failing every run.
func seatbeltTrial() SeatbeltParams {
	const d = "/private/var/empty/factory-trial"
	return SeatbeltParams{Policy: factory.SandboxPolicy{Network: true, Hide: []string{d + "/*.key"}}, Home: d,
		Writable: []string{d + "/w"}, Protect: []string{d + "/w/.git"}, Private: []string{d + "/c"}, Tmp: d + "/t"}
}

// privateForms is p and, for the /etc, /tmp and /var symlinks of macOS,
// the /private path Seatbelt sees.
func privateForms(p string) []string {
	for _, l := range []string{"/etc", "/tmp", "/var"} {
		if p == l || strings.HasPrefix(p, l+"/") {
			return []string{p, "/private" + p}
		}
	}
	return []string{p}
}

// seatbeltSecrets expands the secret places (hidePatterns and
// seatbeltHidden, less Policy.Unhide) for a profile: "~/" means home, the only home a command on
// a Mac can reach; without a home those patterns are dropped.
func seatbeltSecrets(pol factory.SandboxPolicy, home string) []string {
	expand := func(pats []string) []string {
		var out []string
		for _, p := range pats {
			if p == "~" || strings.HasPrefix(p, "~/") {
				if home == "" {
					continue
				}
				p = expandHome(p, home)
			}
			out = append(out, p)
		}
		return out
	}
	unhide := expand(pol.Unhide)
	var out []string
	for _, p := range expand(append(hidePatterns(pol), seatbeltHidden...)) {
		if !slices.Contains(unhide, p) && !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out
}

// globRegex turns a filepath.Match glob into an anchored SBPL regular
// expression matching the path and what is below it.
func globRegex(glob string) string {
	var r strings.Builder
	r.WriteString("^")
	for _, c := range glob {
		switch c {
		case '*':
			r.WriteString("[^/]*")
		case '?':
			r.WriteString("[^/]")
		case '[', ']':
			r.WriteRune(c)
		default:
			r.WriteString(strings.ReplaceAll(regexp.QuoteMeta(string(c)), `"`, `\"`))
		}
	}
	r.WriteString("(/|$)")
	return r.String()
}

// sbplString quotes s as an SBPL (Scheme) string literal.
func sbplString(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}
