package proc

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/factory-dev/factory"
	"github.com/factory-dev/factory/internal/attacktest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite testdata/seatbelt/*.sb from the current SeatbeltProfile")

const (
	sbHome = "/Users/dev"
	sbCopy = "/private/var/folders/xy/T/factory-copy-1/tree"
	sbTmp  = "/private/var/folders/xy/T/factory-seatbelt-1/tmp"
	// sbPrivate holds the run's own copies of the caches it writes.
	sbPrivate = "/private/var/folders/xy/T/factory-seatbelt-1/cache"
)

// seatbeltBase is what a default factory.yaml sandbox on a Mac gives the
// generator: the copy writable, its .git protected, the run's private
// cache copies and TMPDIR writable.
func seatbeltBase() SeatbeltParams {
	return SeatbeltParams{Home: sbHome, Writable: []string{sbCopy}, Protect: []string{sbCopy + "/.git"},
		Private: []string{sbPrivate}, Tmp: sbTmp}
}

// seatbeltCases covers what factory.yaml's sandbox section can change in a
// profile: network on or off, extra writable paths, hide and unhide (both
// "~/" and absolute, globs too), HOME set or not, private caches, TMPDIR
// and .git present or not.
func seatbeltCases() map[string]SeatbeltParams {
	with := func(f func(*SeatbeltParams)) SeatbeltParams { p := seatbeltBase(); f(&p); return p }
	return map[string]SeatbeltParams{
		"default": seatbeltBase(),
		"network": with(func(p *SeatbeltParams) { p.Policy.Network = true }),
		"extra_writable": with(func(p *SeatbeltParams) {
			p.Writable = append(p.Writable, sbHome+"/.cache/extra", "/tmp/scratch")
		}),
		"hide": with(func(p *SeatbeltParams) {
			p.Policy.Hide = []string{"~/.config/op", "/opt/keys/*.pem", "/etc/secret.conf"}
		}),
		"unhide":  with(func(p *SeatbeltParams) { p.Policy.Unhide = []string{"~/.npmrc", "/etc/sudoers"} }),
		"no_home": with(func(p *SeatbeltParams) { p.Home = "" }),
		"bare":    {Writable: []string{sbCopy}},
		"trial":   seatbeltTrial(),
		"nothing": {},
		"everything": with(func(p *SeatbeltParams) {
			p.Policy = factory.SandboxPolicy{Network: true, Writable: []string{"~/.cache/extra"},
				Hide: []string{"~/.config/op"}, Unhide: []string{"~/.aws"}}
			p.Writable = append(p.Writable, sbHome+"/.cache/extra")
			p.Protect, p.Private = nil, nil
		}),
		"private_only": with(func(p *SeatbeltParams) { p.Tmp = "" }),
	}
}

func TestSeatbeltProfileGolden(t *testing.T) {
	for name, p := range seatbeltCases() {
		t.Run(name, func(t *testing.T) {
			got := SeatbeltProfile(p)
			path := filepath.Join("testdata", "seatbelt", name+".sb")
			if *update {
				require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
			}
			want, err := os.ReadFile(path)
			require.NoError(t, err, "run go test ./sandbox/proc -run SeatbeltProfileGolden -update")
			assert.Equal(t, string(want), got)
			assertBalanced(t, got)
		})
	}
}

// TestSeatbeltSecretsSameAsLinux checks that the profile denies every one
// of the secret places the Linux sandboxes hide, from the same list.
func TestSeatbeltSecretsSameAsLinux(t *testing.T) {
	prof := SeatbeltProfile(seatbeltBase())
	denies := prof[strings.LastIndex(prof, "(deny file-read* file-write*"):]
	for _, p := range defaultHidden {
		p = expandHome(p, sbHome)
		if strings.ContainsAny(p, "*?[") {
			assert.Contains(t, denies, globRegex(p), p)
			continue
		}
		assert.Contains(t, denies, sbplString(p), p)
	}
	assert.Contains(t, denies, `"/private/etc/shadow"`, "Seatbelt sees /etc as /private/etc")
}

// attack: list a secret place as writable in factory.yaml (writable: [~/.ssh]) so a test can read or replace the keys -> the secret denies come after every allow, so Seatbelt still refuses both
func TestAttackSeatbeltWritableSecret(t *testing.T) {
	home := t.TempDir()
	before := attacktest.Take(t, home)
	p := seatbeltBase()
	p.Home = home
	p.Writable = append(p.Writable, home+"/.ssh")
	prof := SeatbeltProfile(p)
	allow := strings.Index(prof, sbplString(home+"/.ssh"))
	deny := strings.LastIndex(prof, sbplString(home+"/.ssh"))
	require.True(t, allow >= 0 && deny > allow, "the deny of ~/.ssh must follow its allow:\n%s", prof)
	assert.True(t, strings.HasPrefix(prof[strings.LastIndex(prof[:deny], "\n(")+1:], "(deny file-read* file-write*"))
	attacktest.Unchanged(t, before, home)
}

// attack: a writable path or hide pattern carrying SBPL (`x") (allow default) ("`) to break out of the string and open the sandbox -> the quote is escaped, the profile holds no rule the generator did not write
func TestAttackSeatbeltInjection(t *testing.T) {
	home := t.TempDir()
	before := attacktest.Take(t, home)
	p := seatbeltBase()
	p.Home = home
	evil := `/x") (allow default) ("`
	p.Writable = append(p.Writable, evil)
	p.Policy.Hide = []string{`/y*") (allow network*) (#"`}
	prof := SeatbeltProfile(p)
	assertBalanced(t, prof)
	assert.NotContains(t, prof, "\n(allow default)")
	assert.NotContains(t, prof, "(allow network*")
	assert.Contains(t, prof, `"/x\") (allow default) (\""`)
	attacktest.Unchanged(t, before, home)
}

// assertBalanced checks the profile's parentheses outside strings pair up
// and that every string ends: what sandbox-exec would parse as written.
func assertBalanced(t *testing.T, prof string) {
	t.Helper()
	depth, inStr := 0, false
	for i := 0; i < len(prof); i++ {
		c := prof[i]
		switch {
		case inStr && c == '\\':
			i++
		case c == '"':
			inStr = !inStr
		case !inStr && c == '(':
			depth++
		case !inStr && c == ')':
			depth--
			require.GreaterOrEqual(t, depth, 0, "unbalanced at %d", i)
		}
	}
	assert.False(t, inStr, "unterminated string")
	assert.Equal(t, 0, depth)
}

// attack: with the host readable, as on Linux, a test reads the macOS login keychain or Safari's cookies (or ~/.ssh) -> they are denied by the profile's last rule, which comes after the one read allow, unless factory.yaml unhides them
func TestAttackSeatbeltReadsMacSecrets(t *testing.T) {
	home := t.TempDir()
	before := attacktest.Take(t, home)
	p := seatbeltBase()
	p.Home = home
	prof := SeatbeltProfile(p)
	read := strings.Index(prof, "\n(allow file-read*)\n")
	last := strings.LastIndex(prof, "\n(deny file-read* file-write*")
	require.True(t, read >= 0 && last > read, "the secret denies must follow the read allow:\n%s", prof)
	for _, s := range []string{"/Library/Keychains", "/Library/Cookies", "/.ssh"} {
		assert.Contains(t, prof[last:], sbplString(home+s), s)
	}
	p.Policy.Unhide = []string{"~/Library/Cookies"}
	assert.NotContains(t, SeatbeltProfile(p), sbplString(home+"/Library/Cookies"), "unhide applies to the Mac places too")
	attacktest.Unchanged(t, before, home)
}

// attack: a test connects to the user's ssh-agent ($SSH_AUTH_SOCK under /private/tmp), the Docker socket or another daemon's unix socket, to sign with the user's keys or start a container outside the sandbox -> the profile allows unix-socket binds and connects only under the writable trees, the private caches and TMPDIR, network on or off
func TestAttackSeatbeltHostSockets(t *testing.T) {
	home := t.TempDir()
	before := attacktest.Take(t, home)
	for _, network := range []bool{false, true} {
		p := seatbeltBase()
		p.Home, p.Policy.Network = home, network
		prof := SeatbeltProfile(p)
		var sockets []string
		for _, line := range strings.Split(prof, "\n") {
			if strings.Contains(line, "unix-socket") {
				sockets = append(sockets, line)
			}
		}
		require.Len(t, sockets, 6, "one bind and one connect filter per writable place:\n%s", prof)
		for _, l := range sockets {
			ok := false
			for _, w := range append(p.Writable, sbPrivate, sbTmp) {
				ok = ok || strings.Contains(l, "(subpath "+sbplString(w)+")")
			}
			assert.True(t, ok, "unix sockets allowed outside the writable places: %s", l)
		}
		for _, host := range []string{"/private/tmp/com.apple.launchd.x/Listeners", "/var/run/docker.sock", home + "/.docker/run/docker.sock"} {
			assert.NotContains(t, prof, sbplString(host))
		}
		assert.NotContains(t, prof, "(allow network*)", "no rule may open the network wholesale")
	}
	attacktest.Unchanged(t, before, home)
}
