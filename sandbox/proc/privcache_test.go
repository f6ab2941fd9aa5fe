package proc

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/factory-dev/factory"
	"github.com/factory-dev/factory/internal/attacktest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPrivateCaches(t *testing.T) {
	type want struct{ goCache, npm, cargo string }
	cases := []struct {
		name     string
		env      []string
		home     string
		goos     string
		writable []string
		want     want
	}{
		{name: "mac defaults", home: "/Users/dev", goos: "darwin",
			want: want{goCache: "/Users/dev/Library/Caches/go-build", npm: "/Users/dev/.npm"}},
		{name: "mac ignores XDG, as go does", env: []string{"XDG_CACHE_HOME=/x"}, home: "/Users/dev", goos: "darwin",
			want: want{goCache: "/Users/dev/Library/Caches/go-build", npm: "/Users/dev/.npm"}},
		{name: "linux defaults", home: "/home/dev", goos: "linux",
			want: want{goCache: "/home/dev/.cache/go-build", npm: "/home/dev/.npm"}},
		{name: "linux XDG", env: []string{"XDG_CACHE_HOME=/x"}, home: "/home/dev", goos: "linux",
			want: want{goCache: "/x/go-build", npm: "/home/dev/.npm"}},
		{name: "set explicitly", env: []string{"GOCACHE=/c/go", "NPM_CONFIG_CACHE=/c/npm"}, home: "/Users/dev", goos: "darwin",
			want: want{goCache: "/c/go", npm: "/c/npm"}},
		{name: "npm lower case wins", env: []string{"NPM_CONFIG_CACHE=/c/NPM", "npm_config_cache=/c/npm"}, goos: "darwin",
			want: want{npm: "/c/npm"}},
		{name: "relative GOCACHE is go's default", env: []string{"GOCACHE=off"}, home: "/Users/dev", goos: "darwin",
			want: want{goCache: "/Users/dev/Library/Caches/go-build", npm: "/Users/dev/.npm"}},
		{name: "no home: both start empty", goos: "darwin"},
		{name: "cargo target outside the trees", env: []string{"CARGO_TARGET_DIR=/Users/dev/target"}, goos: "darwin",
			writable: []string{"/Users/dev/repo"}, want: want{cargo: "private"}},
		{name: "cargo target inside a tree stays", env: []string{"CARGO_TARGET_DIR=/Users/dev/repo/target"}, goos: "darwin",
			writable: []string{"/Users/dev/repo"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var got want
			for _, c := range privateCaches(tc.env, tc.home, tc.goos, tc.writable, nil) {
				switch c.name {
				case "go-build":
					got.goCache = c.host
				case "npm":
					got.npm = c.host
				case "cargo-target":
					assert.Empty(t, c.host, "a target dir holds build outputs: it starts empty")
					got.cargo = "private"
				}
			}
			assert.Equal(t, tc.want, got)
		})
	}
}

// copyTree stands in for APFS's clonefile on Linux: a real, separate copy.
func copyTree(src, dst string) error { return exec.Command("cp", "-a", src, dst).Run() }

func TestWithPrivateCachesEnv(t *testing.T) {
	host := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(host, "entry"), []byte("warm"), 0o644))
	run := t.TempDir()
	env := []string{"PATH=/usr/bin", "GOCACHE=" + host, "NPM_CONFIG_CACHE=/nowhere/npm", "npm_config_cache=/nowhere/npm2", "GOPROXY=https://proxy.golang.org"}
	caches := privateCaches(env, "", "darwin", nil, nil)
	got, notes, err := withPrivateCaches(env, filepath.Join(run, "cache"), caches, copyTree)
	require.NoError(t, err)
	goCache := filepath.Join(run, "cache", "go-build")
	assert.ElementsMatch(t, []string{"PATH=/usr/bin", "GOCACHE=" + goCache,
		"npm_config_cache=" + filepath.Join(run, "cache", "npm"), "GOPROXY=off"}, got)
	b, err := os.ReadFile(filepath.Join(goCache, "entry"))
	require.NoError(t, err, "the copy starts as the host's cache")
	assert.Equal(t, "warm", string(b))
	st, err := os.Stat(filepath.Join(run, "cache", "npm"))
	require.NoError(t, err, "a cache the host lacks starts empty")
	assert.True(t, st.IsDir())
	require.Len(t, notes, 2)
	assert.Contains(t, notes[0], "clone of "+host)
	assert.Contains(t, notes[1], "private, empty")

	_, _, err = withPrivateCaches(env, filepath.Join(run, "cache"), caches, copyTree)
	require.Error(t, err, "a cache directory that exists already was not made by this run")
}

// A clone that did not give a directory (the host's cache path names a
// file) is replaced by an empty directory, not handed to the command.
func TestPrivateCacheNotADirectory(t *testing.T) {
	hostFile := filepath.Join(t.TempDir(), "gocache")
	require.NoError(t, os.WriteFile(hostFile, []byte("x"), 0o644))
	run := t.TempDir()
	_, notes, err := withPrivateCaches([]string{"GOCACHE=" + hostFile}, filepath.Join(run, "c"),
		privateCaches([]string{"GOCACHE=" + hostFile}, "", "darwin", nil, nil), copyTree)
	require.NoError(t, err)
	st, err := os.Lstat(filepath.Join(run, "c", "go-build"))
	require.NoError(t, err)
	assert.True(t, st.IsDir())
	assert.Contains(t, notes[0], "private, empty")
}

// attack: a confined go build writes (and a test plants entries, a symlink out and junk) in its writable GOCACHE to change what the host's go build links, or what the next gate run reads -> GOCACHE is the run's private clone: the host's cache and the symlink's target stay byte-identical, the profile lets the run write the clone only, and the next run starts from the host's cache without the plant
func TestAttackPrivateGoCache(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go tool not in PATH")
	}
	home, hostCache, mod, target := t.TempDir(), t.TempDir(), t.TempDir(), t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(mod, "go.mod"), []byte("module example.com/m\n\ngo 1.21\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(mod, "m.go"), []byte("package m\n\nfunc F() int { return 1 }\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(target, "keep"), []byte("host file"), 0o644))
	hostEnv := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home, "GOCACHE=" + hostCache, "GOTOOLCHAIN=local", "GOFLAGS=-trimpath"}
	build := func(env []string, script string) Result {
		t.Helper()
		res, err := Run(context.Background(), Cmd{Argv: []string{"/bin/sh", "-c", script}, Dir: mod, Env: env, Timeout: 5 * time.Minute})
		require.NoError(t, err)
		require.Equal(t, 0, res.ExitCode, "%s", res.Stderr)
		return res
	}
	build(hostEnv, goBin+" build ./...")
	paths := []string{hostCache, target, mod}
	before := attacktest.Take(t, paths...)

	run := t.TempDir()
	caches := privateCaches(hostEnv, home, "darwin", []string{mod}, seatbeltSecrets(factory.SandboxPolicy{}, home))
	env, _, err := withPrivateCaches(hostEnv, filepath.Join(run, "cache"), caches, copyTree)
	require.NoError(t, err)
	private := envGet(env, "GOCACHE")
	require.True(t, strings.HasPrefix(private, run), "GOCACHE %s is not the run's", private)
	// The build compiles a changed package into the cache, then the
	// "test" plants: junk in every entry, a symlink out, a forged README.
	build(env, `cp m.go /tmp/m.go.$$ && echo 'func G() int { return 2 }' >> m.go && `+goBin+` build ./... && mv /tmp/m.go.$$ m.go &&
		for f in "$GOCACHE"/*/*; do echo planted > "$f"; done &&
		ln -s `+target+` "$GOCACHE/out" && echo planted > "$GOCACHE/README"`)
	planted, err := os.ReadFile(filepath.Join(private, "README"))
	require.NoError(t, err)
	assert.Equal(t, "planted\n", string(planted), "the run did write its own cache")

	prof := SeatbeltProfile(SeatbeltParams{Writable: []string{mod}, Private: []string{filepath.Join(run, "cache")}, Tmp: filepath.Join(run, "tmp")})
	rw := prof[strings.Index(prof, "(allow file-read* file-write*"):]
	rw = rw[:strings.Index(rw, "\n(")]
	assert.Contains(t, rw, sbplString(filepath.Join(run, "cache")))
	assert.NotContains(t, rw, hostCache, "the host's cache must never be writable")
	assert.NotContains(t, rw, target)

	require.NoError(t, os.RemoveAll(run), "the run's directory goes with the run, as launch.run removes it")
	next := t.TempDir()
	env2, _, err := withPrivateCaches(hostEnv, filepath.Join(next, "cache"), caches, copyTree)
	require.NoError(t, err)
	_, err = os.Lstat(filepath.Join(envGet(env2, "GOCACHE"), "out"))
	assert.True(t, os.IsNotExist(err), "the next run's cache must not hold the last run's plant")
	build(hostEnv, goBin+" build ./...")
	attacktest.Unchanged(t, before, paths...)
}

// attack: the suite's environment names a secret place, or a directory holding one, as a cache (GOCACHE=~/.ssh, GOCACHE=~, npm_config_cache=/etc) so that factory clones the keys into the run's private cache, where the profile lets the command read them -> no clone: that cache starts empty, with a note, and the run's directory holds none of the secrets
func TestAttackPrivateCacheClonesSecret(t *testing.T) {
	home := t.TempDir()
	write := func(rel, content string) {
		p := filepath.Join(home, rel)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o700))
		require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
	}
	write(".ssh/id_ed25519", "PRIVATE KEY")
	write(".cache/go-build/ok", "fine")
	secrets := seatbeltSecrets(factory.SandboxPolicy{}, home)
	before := attacktest.Take(t, home)
	for _, env := range [][]string{
		{"GOCACHE=" + home + "/.ssh"},
		{"GOCACHE=" + home},
		{"GOCACHE=" + home + "/.ssh/id_ed25519"},
		{"npm_config_cache=" + home},
		{"npm_config_cache=/etc"}, // holds /etc/ssl/private and the ssh host keys
	} {
		run := t.TempDir()
		got, notes, err := withPrivateCaches(env, filepath.Join(run, "cache"), privateCaches(env, "", "darwin", nil, secrets), copyTree)
		require.NoError(t, err)
		assert.Contains(t, strings.Join(notes, "; "), "not cloned", env)
		for _, v := range []string{"GOCACHE", "npm_config_cache"} {
			ents, err := os.ReadDir(envGet(got, v))
			require.NoError(t, err)
			assert.Empty(t, ents, "%v: %s must start empty", env, v)
		}
		require.NoError(t, filepath.WalkDir(run, func(p string, d os.DirEntry, err error) error {
			require.NoError(t, err)
			if !d.IsDir() {
				b, _ := os.ReadFile(p)
				assert.NotContains(t, string(b), "PRIVATE KEY", "%v: %s", env, p)
			}
			return nil
		}))
	}
	attacktest.Unchanged(t, before, home)

	got := privateCaches([]string{"GOCACHE=" + home + "/.cache/go-build"}, home, "darwin", nil, secrets)
	assert.Equal(t, home+"/.cache/go-build", got[0].host, "a cache beside the secrets is still cloned")
}
