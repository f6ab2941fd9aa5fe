//go:build linux

package proc

import (
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/factory-dev/factory"
	"github.com/factory-dev/factory/internal/attacktest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// unprivEnv marks the run of the attack tests that TestAttackAsUnprivilegedUser
// starts as uid 65534.
const unprivEnv = "PROC_TEST_UNPRIV"

// hostDir makes a directory outside /tmp (where only the read-only root
// mount, not the private /tmp, stands between it and the command) holding
// host.txt: in /var/tmp, since the package's own directory may itself be
// under /tmp (a clone checked out there, as CI may do).
func hostDir(t *testing.T) string {
	t.Helper()
	base := "/var/tmp"
	if st, err := os.Stat(base); err != nil || !st.IsDir() || strings.HasPrefix(mustAbs(t, "."), "/var/tmp/") {
		base = "."
	}
	d, err := os.MkdirTemp(base, ".factory-attack-host-")
	require.NoError(t, err)
	require.NoError(t, os.Chmod(d, 0o755))
	d, err = filepath.Abs(d)
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(d) })
	require.NoError(t, os.WriteFile(filepath.Join(d, "host.txt"), []byte("host\n"), 0o644))
	return d
}

func mustAbs(t *testing.T, p string) string {
	t.Helper()
	a, err := filepath.Abs(p)
	require.NoError(t, err)
	return a
}

// confined runs argv in work under isolation iso with env (nil: BaseEnv)
// and returns what it printed on both streams; the command must exit 0.
func confined(t *testing.T, iso, work string, env []string, argv ...string) string {
	t.Helper()
	res, err := Run(context.Background(), Cmd{Argv: argv, Dir: work, Env: env, Timeout: time.Minute,
		Confine: &Confinement{Policy: factory.SandboxPolicy{Isolation: iso}, Writable: []string{work}}})
	require.NoError(t, err)
	out := string(res.Stdout) + string(res.Stderr)
	require.Equal(t, 0, res.ExitCode, "output: %s", out)
	assert.Equal(t, iso, res.Isolation)
	assert.Contains(t, strings.Join(res.Notes, "\n"), "sandbox "+iso+": user namespace uid ")
	return out
}

// escapeLines runs the escape helper confined and returns its lines.
func escapeLines(t *testing.T, iso, work string, actions ...string) map[string]string {
	t.Helper()
	c := selfCmd(t, iso, work, "escape", actions...)
	res, err := Run(context.Background(), c)
	require.NoError(t, err)
	require.Equal(t, 0, res.ExitCode, "stdout %s stderr %s", res.Stdout, res.Stderr)
	lines := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(string(res.Stdout)), "\n") {
		k, v, _ := strings.Cut(l, ": ")
		lines[k] = v
	}
	return lines
}

// attack: remount / read-write (mount -o remount,bind,rw /, and the system call) and write a host file -> refused: no capability, seccomp; the host file is unchanged
func TestAttackRemountRootAndWriteHost(t *testing.T) {
	eachIsolation(t, func(t *testing.T, iso string) {
		host := hostDir(t)
		before := attacktest.Take(t, host)
		out := confined(t, iso, t.TempDir(), nil, sh(`mount -o remount,bind,rw / ; mount -o remount,rw / ;
			echo pwned > `+host+`/host.txt; echo new > `+host+`/new.txt; echo done`)...)
		assert.Contains(t, out, "done")
		assert.Contains(t, out, "Read-only file system")
		lines := escapeLines(t, iso, t.TempDir(), "remount-rw")
		assert.NotEqual(t, "ok", lines["remount-rw"])
		attacktest.Unchanged(t, before, host)
	})
}

// attack: umount -l /tmp to reveal the host's /tmp, then read and write a file there -> refused; the host file is neither seen nor changed
func TestAttackUmountTmpRevealsHost(t *testing.T) {
	eachIsolation(t, func(t *testing.T, iso string) {
		marker := filepath.Join(os.TempDir(), "factory-attack-"+sleepToken())
		require.NoError(t, os.WriteFile(marker, []byte("host-tmp-secret\n"), 0o644))
		t.Cleanup(func() { os.Remove(marker) })
		before := attacktest.Take(t, marker, marker+".new")
		out := confined(t, iso, t.TempDir(), nil, sh(`umount -l /tmp; umount /tmp; cat `+marker+`; echo pwned > `+marker+
			`; echo new > `+marker+`.new; echo done`)...)
		assert.Contains(t, out, "done")
		assert.NotContains(t, out, "host-tmp-secret")
		lines := escapeLines(t, iso, t.TempDir(), "umount-tmp")
		assert.NotEqual(t, "ok", lines["umount-tmp"])
		attacktest.Unchanged(t, before, marker, marker+".new")
	})
}

// gitRepo makes a git repository with one commit in a new directory.
func gitRepo(t *testing.T) string {
	t.Helper()
	repo := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(repo, "a.txt"), []byte("a\n"), 0o644))
	for _, args := range [][]string{{"init", "-q"}, {"add", "-A"}, {"-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "init"}} {
		out, err := exec.Command("git", append([]string{"-C", repo}, args...)...).CombinedOutput()
		require.NoError(t, err, "git %v: %s", args, out)
	}
	return repo
}

// hookScript plants a post-commit hook and edits the git dir gd.
func hookScript(gd string) []string {
	return sh(`mkdir -p ` + gd + `/hooks; printf '#!/bin/sh\necho pwned\n' > ` + gd + `/hooks/post-commit; chmod +x ` + gd +
		`/hooks/post-commit; echo '[core] hooksPath = /tmp' >> ` + gd + `/config; rm -rf ` + gd + `/objects; echo tree > tree.txt; echo done`)
}

// attack: write .git/hooks/post-commit (and .git/config, and delete objects) from a command whose tree is writable: in place, in a copy shown at the live path that holds a .git, in a linked worktree -> refused: the git dirs are read-only inside; the tree itself stays writable
func TestAttackWriteGitHooks(t *testing.T) {
	eachIsolation(t, func(t *testing.T, iso string) {
		t.Run("in-place", func(t *testing.T) {
			repo := gitRepo(t)
			before := attacktest.Take(t, filepath.Join(repo, ".git"))
			out := confined(t, iso, repo, nil, hookScript(filepath.Join(repo, ".git"))...)
			assert.Contains(t, out, "done")
			assert.FileExists(t, filepath.Join(repo, "tree.txt"), "the tree is writable")
			attacktest.Unchanged(t, before, filepath.Join(repo, ".git"))
		})
		t.Run("copy-at-live-path", func(t *testing.T) {
			live, cp := gitRepo(t), gitRepo(t)
			before := attacktest.Take(t, filepath.Join(live, ".git"), filepath.Join(cp, ".git"))
			res, err := Run(context.Background(), Cmd{Argv: hookScript(filepath.Join(live, ".git")), Dir: cp, Timeout: time.Minute,
				Confine: &Confinement{Policy: factory.SandboxPolicy{Isolation: iso}, Writable: []string{cp}, MountAs: Mount{Src: cp, Dst: live}}})
			require.NoError(t, err)
			assert.Contains(t, string(res.Stdout), "done", "stderr: %s", res.Stderr)
			assert.FileExists(t, filepath.Join(cp, "tree.txt"))
			attacktest.Unchanged(t, before, filepath.Join(live, ".git"), filepath.Join(cp, ".git"))
		})
		t.Run("worktree", func(t *testing.T) {
			repo := gitRepo(t)
			wt := filepath.Join(repo, "wt")
			out, err := exec.Command("git", "-C", repo, "worktree", "add", "-q", wt).CombinedOutput()
			require.NoError(t, err, "%s", out)
			gd := filepath.Join(repo, ".git", "worktrees", "wt")
			before := attacktest.Take(t, filepath.Join(repo, ".git"), filepath.Join(wt, ".git"))
			got := confined(t, iso, wt, nil, hookScript(filepath.Join(repo, ".git"))...)
			assert.Contains(t, got, "done")
			got = confined(t, iso, wt, nil, hookScript(gd)...)
			assert.Contains(t, got, "done")
			got = confined(t, iso, wt, nil, sh(`echo 'gitdir: /tmp/evil' > .git; echo done`)...)
			assert.Contains(t, got, "done")
			attacktest.Unchanged(t, before, filepath.Join(repo, ".git"), filepath.Join(wt, ".git"))
		})
	})
}

// fakeHome makes a home directory holding secrets in the usual places
// and returns it with the secret marker they all contain.
func fakeHome(t *testing.T) (home, secret string) {
	t.Helper()
	home = t.TempDir()
	secret = "FAKE-SECRET-" + sleepToken()
	for _, f := range []string{".ssh/id_rsa", ".netrc", ".aws/credentials", ".docker/config.json", ".git-credentials", ".config/gcloud/token", ".gnupg/key"} {
		p := filepath.Join(home, f)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o700))
		require.NoError(t, os.WriteFile(p, []byte(secret+"\n"), 0o600))
	}
	return home, secret
}

// firstBytes returns up to 64 bytes from the start of each readable,
// non-empty regular file among paths (directories walked), for checking
// they do not show in an output.
func firstBytes(paths ...string) []string {
	var out []string
	for _, root := range paths {
		_ = filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err != nil || !d.Type().IsRegular() {
				return nil
			}
			f, err := os.Open(p)
			if err != nil {
				return nil
			}
			defer f.Close()
			b := make([]byte, 64)
			n, _ := io.ReadFull(f, b)
			if s := strings.TrimSpace(string(b[:n])); len(s) >= 8 {
				out = append(out, s)
			}
			return nil
		})
	}
	return out
}

// attack: read ~/.ssh/id_rsa, ~/.netrc, ~/.aws/credentials, ~/.docker/config.json, /etc/shadow, /etc/gshadow and the real /root/.ssh, and plant ~/.ssh/authorized_keys -> every secret place shows empty and read-only; nothing is printed or changed
func TestAttackReadSecrets(t *testing.T) {
	eachIsolation(t, func(t *testing.T, iso string) {
		home, secret := fakeHome(t)
		env := append(BaseEnv(nil), "HOME="+home)
		roots := []string{filepath.Join(home, ".ssh"), filepath.Join(home, ".netrc"), "/etc/shadow", "/root/.ssh"}
		before := attacktest.Take(t, roots...)
		out := confined(t, iso, home, env, sh(`cat ~/.ssh/id_rsa ~/.netrc ~/.aws/credentials ~/.docker/config.json ~/.git-credentials
			cat ~/.config/gcloud/token ~/.gnupg/key /etc/shadow /etc/gshadow /root/.ssh/* 2>&1
			echo key > ~/.ssh/authorized_keys; echo x > ~/.netrc; echo done`)...)
		assert.Contains(t, out, "done")
		assert.NotContains(t, out, secret)
		for _, s := range firstBytes("/etc/shadow", "/etc/gshadow", "/root/.ssh") {
			assert.NotContains(t, out, s, "a host secret was printed")
		}
		attacktest.Unchanged(t, before, roots...)
	})
}

// TestHideAndUnhideFromPolicy: Policy.Hide hides more, Policy.Unhide shows
// a default secret place after all.
func TestHideAndUnhideFromPolicy(t *testing.T) {
	eachIsolation(t, func(t *testing.T, iso string) {
		home, secret := fakeHome(t)
		require.NoError(t, os.WriteFile(filepath.Join(home, "extra.key"), []byte("EXTRA-"+secret), 0o600))
		env := append(BaseEnv(nil), "HOME="+home)
		res, err := Run(context.Background(), Cmd{Argv: sh(`cat ~/extra.key; echo; cat ~/.netrc; cat ~/.ssh/id_rsa; echo done`), Dir: home, Env: env,
			Confine: &Confinement{Writable: []string{home}, Policy: factory.SandboxPolicy{Isolation: iso,
				Hide: []string{"~/*.key"}, Unhide: []string{"~/.netrc"}}}})
		require.NoError(t, err)
		out := string(res.Stdout)
		assert.NotContains(t, out, "EXTRA-")
		assert.Equal(t, 1, strings.Count(out, secret), "only ~/.netrc shows: %s", out)
		assert.Contains(t, out, "done")
	})
}

// attack: plant ~/.cargo/config.toml (a rustc-wrapper), a file in ~/.cache and ~/.npm, and overwrite an entry of GOCACHE -> the writes succeed inside but land in a layer discarded with the sandbox; host caches are unchanged, and their entries are still read (cache hits)
func TestAttackPoisonHostCaches(t *testing.T) {
	eachIsolation(t, func(t *testing.T, iso string) {
		home := t.TempDir()
		gocache := filepath.Join(home, ".cache", "go-build")
		for _, d := range []string{filepath.Join(gocache, "00"), filepath.Join(home, ".cargo"), filepath.Join(home, ".npm")} {
			require.NoError(t, os.MkdirAll(d, 0o755))
		}
		require.NoError(t, os.WriteFile(filepath.Join(gocache, "00", "entry"), []byte("cache-hit\n"), 0o644))
		env := append(BaseEnv(nil), "HOME="+home, "GOCACHE="+gocache)
		// The real caches of this user too, at names no one else uses.
		realHome, _ := os.UserHomeDir()
		token := "factory-attack-" + sleepToken()
		realPaths := []string{filepath.Join(realHome, ".cargo", "config.toml"), filepath.Join(realHome, ".cache", token), filepath.Join(realHome, ".npm", token)}
		before := attacktest.Take(t, append([]string{home}, realPaths...)...)
		script := `cat $GOCACHE/00/entry; echo evil > $GOCACHE/00/entry; echo planted > $GOCACHE/00/planted
			printf '[build]\nrustc-wrapper = "/tmp/evil"\n' > ~/.cargo/config.toml; echo left > ~/.cache/left; echo x > ~/.npm/x
			cat ~/.cargo/config.toml $GOCACHE/00/entry; echo done`
		out := confined(t, iso, t.TempDir(), env, sh(script)...)
		assert.True(t, strings.HasPrefix(out, "cache-hit\n"), "the host cache is read: %s", out)
		assert.Contains(t, out, "rustc-wrapper", "writes work inside: %s", out)
		assert.Contains(t, out, "evil\ndone")
		realScript := `printf '[build]\nrustc-wrapper = "/tmp/evil"\n' >> ~/.cargo/config.toml; echo x > ~/.cache/` + token + `; echo x > ~/.npm/` + token + `; echo done`
		out = confined(t, iso, t.TempDir(), nil, sh(realScript)...)
		assert.Contains(t, out, "done")
		attacktest.Unchanged(t, before, append([]string{home}, realPaths...)...)
	})
}

// attack: regain capabilities: capset them all, make a user namespace (unshare -r, clone) to be root in, then remount / and write a host file -> every way is refused; CapEff/CapPrm/CapBnd/CapAmb are 0, NoNewPrivs 1, Seccomp 2, uid not 0; the host file is unchanged
func TestAttackRegainCapabilities(t *testing.T) {
	eachIsolation(t, func(t *testing.T, iso string) {
		host := hostDir(t)
		before := attacktest.Take(t, host)
		out := confined(t, iso, t.TempDir(), nil, sh(`unshare -r sh -c 'mount -o remount,rw /; echo pwned > `+host+`/host.txt; id'
			unshare -U -r id; echo done`)...)
		assert.Contains(t, out, "done")
		assert.NotContains(t, out, "uid=0(")
		lines := escapeLines(t, iso, t.TempDir(), "capset", "clone-user")
		assert.NotEqual(t, "ok", lines["capset"])
		assert.NotEqual(t, "ok", lines["clone-user"])
		for _, k := range []string{"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"} {
			assert.Equal(t, "0000000000000000", lines[k], "%s: %v", k, lines)
		}
		assert.Equal(t, "1", lines["NoNewPrivs"])
		if Detect().Seccomp {
			assert.Equal(t, "2", lines["Seccomp"])
		}
		assert.NotRegexp(t, `^0 `, lines["Uid"], "the command must not be uid 0 inside")
		attacktest.Unchanged(t, before, host)
	})
}

// attack: ptrace a process, use the kernel keyring (keyctl, add_key), join another namespace (setns) -> each refused by the seccomp filter (ptrace of an own child passes the uid check otherwise); the host file is unchanged
func TestAttackPtraceKeyctlSetns(t *testing.T) {
	eachIsolation(t, func(t *testing.T, iso string) {
		if !Detect().Seccomp {
			t.Skip("no seccomp in this kernel: ptrace of an own child is allowed without it")
		}
		host := hostDir(t)
		before := attacktest.Take(t, host)
		lines := escapeLines(t, iso, t.TempDir(), "ptrace", "keyctl", "add_key", "setns")
		for _, a := range []string{"ptrace", "keyctl", "add_key", "setns"} {
			assert.Contains(t, lines[a], "operation not permitted", "%s: %v", a, lines)
		}
		attacktest.Unchanged(t, before, host)
	})
}

// attack: every attack above by a factory started as an ordinary user (uid 65534), not root -> the same refusals: the attack tests pass again in a copy of this test binary run as that user, on both isolation paths
func TestAttackAsUnprivilegedUser(t *testing.T) {
	if os.Getenv(unprivEnv) != "" {
		t.Skip("this is the unprivileged run")
	}
	if os.Geteuid() != 0 {
		t.Skip("already unprivileged: the attack tests of this run are the unprivileged ones")
	}
	self, err := os.Executable()
	require.NoError(t, err)
	// Outside /tmp, like hostDir: the run's host files are then behind the
	// read-only root, not the private /tmp.
	dir, err := os.MkdirTemp(".", ".unpriv-")
	require.NoError(t, err)
	dir, err = filepath.Abs(dir)
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	bin := filepath.Join(dir, "proc.test")
	b, err := os.ReadFile(self)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(bin, b, 0o755))
	home := filepath.Join(dir, "home")
	require.NoError(t, os.Mkdir(home, 0o755))
	for _, p := range []string{dir, home} {
		require.NoError(t, os.Chmod(p, 0o755))
		require.NoError(t, os.Chown(p, nobody, nobody))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	c := exec.CommandContext(ctx, bin, "-test.run", "^TestAttack", "-test.v", "-test.count=1")
	c.Dir = dir
	c.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home, "TMPDIR=/tmp", unprivEnv + "=1"}
	c.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
	out, err := c.CombinedOutput()
	require.NoError(t, err, "%s", out)
	for _, name := range []string{"TestAttackRemountRootAndWriteHost", "TestAttackUmountTmpRevealsHost", "TestAttackWriteGitHooks",
		"TestAttackReadSecrets", "TestAttackPoisonHostCaches", "TestAttackRegainCapabilities", "TestAttackPtraceKeyctlSetns"} {
		for _, iso := range []string{IsoBwrap, IsoNative} {
			assert.Contains(t, string(out), "--- PASS: "+name+"/"+iso+" ", "as uid %d", nobody)
		}
	}
}
