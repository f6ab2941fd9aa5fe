//go:build linux

package proc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/factory-dev/factory/sandbox/proc/cgroup"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/factory-dev/factory"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// mode is one way of running: unconfined, or confined by one isolation.
type mode struct {
	name    string
	confine bool
}

var modes = []mode{{"unconfined", false}, {IsoNone, true}, {IsoBwrap, true}, {IsoNative, true}}

// needMode skips when this machine lacks an isolation mode, saying why.
func needMode(t *testing.T, iso string) {
	t.Helper()
	f := Detect()
	switch iso {
	case IsoBwrap:
		if !f.BwrapWorks {
			t.Skipf("bubblewrap unusable here (%s): install the bubblewrap package", bwrapReason(f))
		}
	case IsoNative:
		if r := nativeReason(f); r != "" {
			t.Skipf("native isolation unavailable: %s", r)
		}
	}
}

// cmdFor builds a Cmd for mode m writing only in work.
func cmdFor(m mode, work string, argv ...string) Cmd {
	c := Cmd{Argv: argv, Dir: work}
	if m.confine {
		c.Confine = &Confinement{Policy: factory.SandboxPolicy{Isolation: m.name}, Writable: []string{work}}
	}
	return c
}

func sh(script string) []string { return []string{"/bin/sh", "-c", script} }

var tokenSeq atomic.Int64

// sleepToken is a unique sleep duration: its presence in some process's
// command line tells whether a process we started is still alive, from
// outside any pid namespace.
func sleepToken() string {
	return fmt.Sprintf("%d.%04d", 3000+os.Getpid()%1000, tokenSeq.Add(1))
}

// alive lists the pids whose command line contains token.
func alive(token string) []int {
	var pids []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && bytes.Contains(b, []byte(token)) {
			pids = append(pids, pid)
		}
	}
	return pids
}

func eachMode(t *testing.T, fn func(t *testing.T, m mode)) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			if m.confine {
				needMode(t, m.name)
			}
			fn(t, m)
		})
	}
}

func TestRunCapturesExitAndOutput(t *testing.T) {
	eachMode(t, func(t *testing.T, m mode) {
		work := t.TempDir()
		var tee bytes.Buffer
		c := cmdFor(m, work, sh(`echo out; echo err >&2; pwd; exit 7`)...)
		c.Stdout = &tee
		res, err := Run(context.Background(), c)
		require.NoError(t, err)
		assert.Equal(t, 7, res.ExitCode)
		assert.Equal(t, "", res.Signal)
		assert.Equal(t, "out\n"+work+"\n", string(res.Stdout))
		assert.Equal(t, "err\n", string(res.Stderr))
		assert.Equal(t, string(res.Stdout), tee.String(), "the tee sees every byte")
		assert.EqualValues(t, len(res.Stdout)+len(res.Stderr), res.OutBytes)
		assert.False(t, res.Truncated || res.TimedOut || res.Cancelled)
		assert.Positive(t, res.Duration)
		want := m.name
		if !m.confine {
			want = IsoNone
		}
		assert.Equal(t, want, res.Isolation, "notes: %v", res.Notes)
	})
}

func TestRunStdinAndSignal(t *testing.T) {
	eachMode(t, func(t *testing.T, m mode) {
		c := cmdFor(m, t.TempDir(), sh(`cat; kill -USR1 $$; sleep 5`)...)
		c.Stdin = strings.NewReader("from stdin")
		res, err := Run(context.Background(), c)
		require.NoError(t, err)
		assert.Equal(t, "from stdin", string(res.Stdout))
		if m.name == IsoBwrap {
			// bwrap is the direct child: it reports the signal as 128+n.
			assert.NotZero(t, res.ExitCode)
			return
		}
		assert.Equal(t, -1, res.ExitCode)
		assert.Equal(t, "user defined signal 1", res.Signal)
	})
}

func TestRunErrors(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "f")
	require.NoError(t, os.WriteFile(file, []byte("x"), 0o644))
	cases := []struct {
		name string
		c    Cmd
		code string
	}{
		{"empty argv", Cmd{Dir: dir}, factory.EINVALID},
		{"relative dir", Cmd{Argv: []string{"true"}, Dir: "rel"}, factory.EINVALID},
		{"no dir", Cmd{Argv: []string{"true"}}, factory.EINVALID},
		{"missing dir", Cmd{Argv: []string{"true"}, Dir: filepath.Join(dir, "nope")}, factory.ENOTFOUND},
		{"dir is a file", Cmd{Argv: []string{"true"}, Dir: file}, factory.EINVALID},
		{"missing program", Cmd{Argv: []string{"no-such-program-xyz"}, Dir: dir}, factory.ENOTFOUND},
		{"not executable", Cmd{Argv: []string{"./f"}, Dir: dir}, factory.ENOTFOUND},
		{"bad isolation", Cmd{Argv: []string{"true"}, Dir: dir, Confine: &Confinement{Policy: factory.SandboxPolicy{Isolation: "vm"}}}, factory.EINVALID},
		{"relative writable", Cmd{Argv: []string{"true"}, Dir: dir, Confine: &Confinement{Policy: factory.SandboxPolicy{Isolation: IsoAuto}, Writable: []string{"rel"}}}, factory.EINVALID},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Run(context.Background(), tc.c)
			require.Error(t, err)
			assert.Equal(t, tc.code, factory.ErrorCode(err), "%v", err)
		})
	}
}

// stubborn starts a shell that ignores SIGTERM with a background grandchild
// that ignores it too, and one that left the session (setsid).
func stubborn(token string) []string {
	return sh(`trap "" TERM; (trap "" TERM; sleep ` + token + `) & setsid sleep ` + token + ` & echo started; sleep ` + token + `; wait`)
}

func requireGone(t *testing.T, token string) {
	t.Helper()
	pids := alive(token)
	for _, p := range pids {
		_ = syscallKill(p) // do not leave them behind, whatever the verdict
	}
	require.Empty(t, pids, "processes survived Run")
}

func TestRunTimeoutKillsEverything(t *testing.T) {
	eachMode(t, func(t *testing.T, m mode) {
		token := sleepToken()
		c := cmdFor(m, t.TempDir(), stubborn(token)...)
		c.Timeout = 300 * time.Millisecond
		start := time.Now()
		res, err := Run(context.Background(), c)
		require.NoError(t, err)
		assert.True(t, res.TimedOut)
		assert.False(t, res.Cancelled)
		assert.Contains(t, string(res.Stdout), "started")
		assert.Less(t, time.Since(start), 10*time.Second, "Run must return promptly")
		assert.NotEqual(t, 0, res.ExitCode)
		requireGone(t, token)
	})
}

func TestRunCancelKillsEverything(t *testing.T) {
	eachMode(t, func(t *testing.T, m mode) {
		token := sleepToken()
		ctx, cancel := context.WithCancel(context.Background())
		c := cmdFor(m, t.TempDir(), stubborn(token)...)
		c.Stdout = writerFunc(func(p []byte) {
			if bytes.Contains(p, []byte("started")) {
				cancel()
			}
		})
		res, err := Run(ctx, c)
		require.NoError(t, err)
		assert.True(t, res.Cancelled)
		assert.False(t, res.TimedOut)
		requireGone(t, token)
	})
}

func TestRunCancelledBeforeStart(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res, err := Run(ctx, Cmd{Argv: []string{"true"}, Dir: t.TempDir()})
	require.NoError(t, err)
	assert.True(t, res.Cancelled)
}

type writerFunc func(p []byte)

func (w writerFunc) Write(p []byte) (int, error) { w(p); return len(p), nil }

func TestRunOrphanedPipeDoesNotHang(t *testing.T) {
	eachMode(t, func(t *testing.T, m mode) {
		token := sleepToken()
		// The background sleep keeps stdout open after the shell exits.
		c := cmdFor(m, t.TempDir(), sh(`sleep `+token+` & echo done`)...)
		start := time.Now()
		res, err := Run(context.Background(), c)
		require.NoError(t, err)
		assert.Equal(t, 0, res.ExitCode)
		assert.Equal(t, "done\n", string(res.Stdout))
		assert.Less(t, time.Since(start), 5*time.Second)
		assert.Empty(t, alive(token), "the pipe holder is killed with the group")
	})
}

func TestRunOutputCap(t *testing.T) {
	eachMode(t, func(t *testing.T, m mode) {
		c := cmdFor(m, t.TempDir(), sh(`echo first; i=0; while [ $i -lt 2000 ]; do echo 0123456789012345678901234567890123456789; i=$((i+1)); done; echo last`)...)
		c.MaxOutput = 1000
		res, err := Run(context.Background(), c)
		require.NoError(t, err)
		assert.True(t, res.Truncated)
		want := int64(len("first\n") + 2000*41 + len("last\n"))
		assert.Equal(t, want, res.OutBytes)
		out := string(res.Stdout)
		assert.True(t, strings.HasPrefix(out, "first\n"), "head kept")
		assert.True(t, strings.HasSuffix(out, "\nlast\n"), "tail kept")
		assert.Contains(t, out, fmt.Sprintf("[factory: %d bytes dropped]", want-1000))
	})
}

func TestRunEnvAllowlist(t *testing.T) {
	t.Setenv("FACTORY_TEST_API_TOKEN", "hunter2")
	t.Setenv("FACTORY_TEST_PLAIN", "plain")
	t.Setenv("LC_FACTORY_TEST", "locale")
	t.Setenv("GH_TOKEN", "ghp_x")
	eachMode(t, func(t *testing.T, m mode) {
		c := cmdFor(m, t.TempDir(), "env")
		if c.Confine != nil {
			c.Confine.Policy.EnvAllow = []string{"GH_TOKEN", "FACTORY_TEST_*"}
		}
		res, err := Run(context.Background(), c)
		require.NoError(t, err)
		out := string(res.Stdout)
		assert.NotContains(t, out, "hunter2", "a secret-looking variable never passes a wildcard")
		assert.Contains(t, out, "LC_FACTORY_TEST=locale")
		assert.Contains(t, out, "PATH=")
		if m.confine {
			assert.Contains(t, out, "GH_TOKEN=ghp_x", "an exact allow passes a secret")
			assert.Contains(t, out, "FACTORY_TEST_PLAIN=plain")
		} else {
			assert.NotContains(t, out, "ghp_x")
			assert.NotContains(t, out, "FACTORY_TEST_PLAIN")
		}
	})
}

// confinedModes are the isolating modes.
func eachIsolation(t *testing.T, fn func(t *testing.T, iso string)) {
	for _, iso := range []string{IsoBwrap, IsoNative} {
		t.Run(iso, func(t *testing.T) {
			needMode(t, iso)
			fn(t, iso)
		})
	}
}

func selfCmd(t *testing.T, iso, work, helperMode string, args ...string) Cmd {
	t.Helper()
	self, err := os.Executable()
	require.NoError(t, err)
	return Cmd{
		Argv:    append([]string{self}, args...),
		Dir:     work,
		Env:     append(BaseEnv(nil), helperEnv+"="+helperMode),
		Timeout: 30 * time.Second,
		Confine: &Confinement{Policy: factory.SandboxPolicy{Isolation: iso}, Writable: []string{work}},
	}
}

func TestConfinedNetwork(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_, _ = c.Write([]byte("!"))
			c.Close()
		}
	}()
	eachIsolation(t, func(t *testing.T, iso string) {
		work := t.TempDir()
		res, err := Run(context.Background(), selfCmd(t, iso, work, "dial", ln.Addr().String()))
		require.NoError(t, err)
		assert.Equal(t, 3, res.ExitCode, "the host's loopback listener must be unreachable: %s %s", res.Stdout, res.Stderr)

		res, err = Run(context.Background(), selfCmd(t, iso, work, "selfloop"))
		require.NoError(t, err)
		assert.Equal(t, 0, res.ExitCode, "the sandbox's own loopback works: %s", res.Stderr)
		assert.Equal(t, "loopback ok\n", string(res.Stdout))

		c := selfCmd(t, iso, work, "dial", ln.Addr().String())
		c.Confine.Policy.Network = true
		res, err = Run(context.Background(), c)
		require.NoError(t, err)
		assert.Equal(t, 0, res.ExitCode, "with network allowed the dial works: %s", res.Stderr)
	})
}

// needLimits skips when this process cannot create cgroups for the limits.
func needLimits(t *testing.T) {
	t.Helper()
	Detect()
	cg, notes := cgroup.New(layout, 1<<30, 100)
	full := cg.Full()
	cg.Destroy(time.Second)
	if !full {
		t.Skipf("memory and process limits cannot be enforced here: %v", notes)
	}
}

func TestConfinedForkLoopStopped(t *testing.T) {
	needLimits(t)
	eachIsolation(t, func(t *testing.T, iso string) {
		token := sleepToken()
		c := cmdFor(mode{iso, true}, t.TempDir(), sh(`i=0; while [ $i -lt 500 ]; do sleep `+token+` & i=$((i+1)); done; echo spawned $i`)...)
		c.Confine.Policy.Processes = 30
		c.Timeout = 60 * time.Second
		res, err := Run(context.Background(), c)
		require.NoError(t, err)
		assert.False(t, res.TimedOut)
		assert.NotContains(t, string(res.Stdout), "spawned 500", "the loop must not get all its forks")
		assert.Contains(t, strings.Join(res.Notes, "\n"), "process limit hit", "stderr: %s", res.Stderr)
		assert.Empty(t, alive(token))
	})
}

func TestConfinedMemoryLimit(t *testing.T) {
	needLimits(t)
	eachIsolation(t, func(t *testing.T, iso string) {
		work := t.TempDir()
		c := selfCmd(t, iso, work, "alloc", "200")
		c.Confine.Policy.Memory = 64 << 20
		res, err := Run(context.Background(), c)
		require.NoError(t, err)
		assert.NotEqual(t, 0, res.ExitCode, "stdout: %s", res.Stdout)
		assert.NotContains(t, string(res.Stdout), "allocated")
		assert.Contains(t, strings.Join(res.Notes, "\n"), "memory limit hit")

		// Under the limit the same helper succeeds: the limit is what killed it.
		c = selfCmd(t, iso, work, "alloc", "16")
		c.Confine.Policy.Memory = 256 << 20
		res, err = Run(context.Background(), c)
		require.NoError(t, err)
		assert.Equal(t, 0, res.ExitCode, "stderr: %s", res.Stderr)
	})
}

func TestConfinedWritesLandNowhere(t *testing.T) {
	eachIsolation(t, func(t *testing.T, iso string) {
		work := t.TempDir()
		tmpOutside := t.TempDir() // under /tmp, not writable
		// A directory outside /tmp too, so the read-only mounts are what stop it.
		outside, err := os.MkdirTemp(".", ".outside-")
		require.NoError(t, err)
		outside, _ = filepath.Abs(outside)
		defer os.RemoveAll(outside)
		hostTmp := filepath.Join(os.TempDir(), "factory-proc-"+sleepToken())
		script := `echo a > ` + outside + `/f; echo b > ` + tmpOutside + `/f; echo c > ` + hostTmp +
			`; rm -f ` + outside + `/keep; echo in > ` + work + `/f; mkdir ` + work + `/d; echo ok`
		require.NoError(t, os.WriteFile(filepath.Join(outside, "keep"), []byte("k"), 0o644))
		res, err := Run(context.Background(), cmdFor(mode{iso, true}, work, sh(script)...))
		require.NoError(t, err)
		assert.Equal(t, "ok\n", string(res.Stdout), "stderr: %s", res.Stderr)
		assert.NoFileExists(t, filepath.Join(outside, "f"))
		assert.NoFileExists(t, filepath.Join(tmpOutside, "f"))
		assert.NoFileExists(t, hostTmp)
		assert.FileExists(t, filepath.Join(outside, "keep"), "deletes outside are refused too")
		b, err := os.ReadFile(filepath.Join(work, "f"))
		require.NoError(t, err)
		assert.Equal(t, "in\n", string(b))
		assert.DirExists(t, filepath.Join(work, "d"))
		if !strings.HasPrefix(outside, "/tmp/") {
			assert.Contains(t, string(res.Stderr), "Read-only file system")
		}
	})
}

func TestForcedModeUnavailable(t *testing.T) {
	f := Detect()
	if f.BwrapWorks {
		t.Skip("bwrap works here; the unavailable path cannot be reached")
	}
	_, err := Run(context.Background(), cmdFor(mode{IsoBwrap, true}, t.TempDir(), "true"))
	require.Error(t, err)
	assert.True(t, errors.Is(err, &factory.Error{Code: factory.EUNAVAILABLE}))
}

func TestRunKillIsGentleFirst(t *testing.T) {
	eachMode(t, func(t *testing.T, m mode) {
		token := sleepToken()
		// Cancel once the trap is set: a cancellation during start-up would
		// find no process to be gentle with yet.
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		c := cmdFor(m, t.TempDir(), sh(`trap 'echo got term; exit 3' TERM; echo started; sleep `+token+` & wait`)...)
		c.Stdout = writerFunc(func(p []byte) {
			if bytes.Contains(p, []byte("started")) {
				cancel()
			}
		})
		start := time.Now()
		res, err := Run(ctx, c)
		require.NoError(t, err)
		assert.True(t, res.Cancelled)
		assert.Equal(t, "started\ngot term\n", string(res.Stdout), "SIGTERM reaches the command before SIGKILL")
		assert.Equal(t, 3, res.ExitCode)
		assert.Less(t, time.Since(start), killGrace, "a command that obeys SIGTERM is not waited on for the grace")
		assert.Empty(t, alive(token))
	})
}

func TestDetect(t *testing.T) {
	f := Detect()
	t.Logf("features: %+v", f)
	assert.Equal(t, os.Geteuid() == 0, f.Root)
	if f.Bwrap != "" {
		assert.FileExists(t, f.Bwrap)
	} else {
		assert.False(t, f.BwrapWorks)
	}
	switch f.Best {
	case IsoBwrap:
		assert.True(t, f.BwrapWorks)
	case IsoNative:
		assert.False(t, f.BwrapWorks)
		assert.Empty(t, nativeReason(f))
	case IsoNone:
		assert.False(t, f.BwrapWorks)
		assert.NotEmpty(t, nativeReason(f))
	default:
		t.Fatalf("Best = %q", f.Best)
	}
	// Cached: a second call is the same and cheap.
	assert.Equal(t, f, Detect())
}

// TestLandlockRefusesWritesOutside checks the Landlock layer on its own,
// without the read-only mounts in front of it.
func TestLandlockRefusesWritesOutside(t *testing.T) {
	if Detect().Landlock == 0 {
		t.Skip("Landlock not available in this kernel")
	}
	// Both directories lie outside /tmp, which the ruleset always allows
	// (in a sandbox it is private): under /tmp the test could not fail.
	base := "."
	if wd, _ := os.Getwd(); wd == "/tmp" || strings.HasPrefix(wd, "/tmp/") {
		base = "/var/tmp"
	}
	allowed, err := os.MkdirTemp(base, ".landlock-in-")
	require.NoError(t, err)
	allowed, _ = filepath.Abs(allowed)
	defer os.RemoveAll(allowed)
	denied, err := os.MkdirTemp(base, ".landlock-out-")
	require.NoError(t, err)
	denied, _ = filepath.Abs(denied)
	defer os.RemoveAll(denied)
	self, err := os.Executable()
	require.NoError(t, err)
	res, err := Run(context.Background(), Cmd{Argv: []string{self, allowed, denied}, Dir: allowed,
		Env: append(BaseEnv(nil), helperEnv+"=landlock")})
	require.NoError(t, err)
	assert.Equal(t, 0, res.ExitCode, "stdout %s stderr %s", res.Stdout, res.Stderr)
	assert.Contains(t, string(res.Stdout), "permission denied")
	assert.FileExists(t, filepath.Join(allowed, "in"))
	assert.NoFileExists(t, filepath.Join(denied, "out"))
}

// TestWithoutInit covers a binary that forgot proc.Init: native is refused
// when forced, auto still isolates with bwrap (without limits, said so).
func TestWithoutInit(t *testing.T) {
	initCalled.Store(false)
	defer initCalled.Store(true)
	work := t.TempDir()
	_, err := Run(context.Background(), cmdFor(mode{IsoNative, true}, work, "true"))
	require.Error(t, err)
	assert.Equal(t, factory.EUNAVAILABLE, factory.ErrorCode(err))
	assert.Contains(t, err.Error(), "proc.Init was not called")

	if !Detect().BwrapWorks {
		t.Skip("bubblewrap unusable here")
	}
	res, err := Run(context.Background(), cmdFor(mode{IsoAuto, true}, work, sh("echo x > "+work+"/f; echo y > /f")...))
	require.NoError(t, err)
	assert.Equal(t, IsoBwrap, res.Isolation)
	assert.Contains(t, strings.Join(res.Notes, "\n"), "limits not enforced: proc.Init was not called")
	assert.FileExists(t, filepath.Join(work, "f"))
	assert.NoFileExists(t, "/f")
}

// TestBwrapSetupRace: only bwrap's own set-up failures over a host mount
// that vanished are started again; a command's failure, or any other
// set-up failure, is reported as it is.
func TestBwrapSetupRace(t *testing.T) {
	const remount = `bwrap: Can't bind mount /oldroot/ on /newroot/: Unable to apply mount flags: remount "/newroot/tmp/x/factory-copy-1/tree": `
	for _, c := range []struct {
		res  Result
		race bool
	}{
		{Result{ExitCode: 1, Stderr: []byte(remount + "Invalid argument\n")}, true},
		{Result{ExitCode: 1, Stderr: []byte(remount + "No such file or directory\n")}, true},
		{Result{ExitCode: 1, Stderr: []byte("bwrap: Can't bind mount /oldroot/tmp/x on /newroot/tmp/x: No such file or directory\n")}, true},
		{Result{ExitCode: 1, Stderr: []byte(remount + "Operation not permitted\n")}, false},
		{Result{ExitCode: 1, Stderr: []byte("bwrap: execvp go: Invalid argument\n")}, false},
		{Result{ExitCode: 1, Stderr: []byte("FAIL: Unable to apply mount flags: remount x: Invalid argument\n")}, false},
		{Result{ExitCode: 1, Stdout: []byte("ok\n"), Stderr: []byte(remount + "Invalid argument\n")}, false},
		{Result{ExitCode: 2, Stderr: []byte(remount + "Invalid argument\n")}, false},
	} {
		assert.Equal(t, c.race, bwrapSetupRace(c.res), "%d %q %q", c.res.ExitCode, c.res.Stdout, c.res.Stderr)
	}
}
