package proc

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/factory-dev/factory"
	"golang.org/x/sys/unix"
)

// sandboxExec is macOS's Seatbelt front end; it ships with every macOS.
const sandboxExec = "/usr/bin/sandbox-exec"

// seatbeltExec is the path of sandbox-exec, "" when this Mac has none or
// it does not run a command under a profile SeatbeltProfile writes (a
// macOS that no longer parses it, factory itself already sandboxed); the
// note says which.
func seatbeltExec() (string, string) {
	st, err := os.Stat(sandboxExec)
	if err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
		return "", sandboxExec + " not found"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, sandboxExec, "-p", SeatbeltProfile(seatbeltTrial()), "--", "/usr/bin/true").CombinedOutput()
	if err != nil {
		return "", "a trial " + sandboxExec + " run failed: " + firstLine(string(out), err)
	}
	return sandboxExec, ""
}

// confine runs the command under sandbox-exec with the profile
// SeatbeltProfile writes from lay: the host readable, the writable trees
// and the copy read and write, .git read-only, the secret places
// unreadable. The run gets a directory of its own, removed after
// it, holding a private TMPDIR and private copies of the caches it writes
// (privateCaches: APFS clones of the host's, so they start warm). The
// process group is killed on timeout as on Linux (signal_unix.go); what
// Seatbelt cannot do is said in the notes.
func (l *launch) confine(c Cmd, f Features, lay fsLayout, mnt Mount) error {
	pol := c.Confine.Policy
	l.notes = append(l.notes, lay.notes...)
	if len(lay.deps) > 0 {
		// Seatbelt has no mount namespace to lay them over the copy: say
		// so, instead of letting a runner fail for a missing module.
		l.notes = append(l.notes, "dependency directories not shown in the copy under seatbelt (no mount namespace): "+strings.Join(lay.deps, ", ")+": a suite that needs them cannot find them on macOS yet")
	}
	run, err := os.MkdirTemp("", "factory-seatbelt-")
	if err != nil {
		return factory.Errorf(factory.EINTERNAL, "confine: private directory: %v", err)
	}
	if r, err := filepath.EvalSymlinks(run); err == nil {
		run = r // Seatbelt matches real paths: /var/folders is /private/var/folders
	}
	tmp, cache := filepath.Join(run, "tmp"), filepath.Join(run, "cache")
	writable := lay.writable
	if mnt.Src != "" {
		writable = append(writable, mnt.Src)
	}
	home := envGet(l.env, "HOME")
	if home == "" {
		home, _ = os.UserHomeDir()
	}
	env, cacheNotes, err := withPrivateCaches(l.env, cache, privateCaches(l.env, home, runtime.GOOS, writable, seatbeltSecrets(pol, home)), cloneTree)
	if err == nil {
		err = os.Mkdir(tmp, 0o700)
	}
	if err != nil {
		_ = os.RemoveAll(run)
		return factory.Errorf(factory.EINTERNAL, "confine: %v", err)
	}
	l.tmp = run
	profile := SeatbeltProfile(SeatbeltParams{Policy: pol, Home: home, Writable: realPaths(writable),
		Protect: realPaths(lay.protect), Private: []string{cache}, Tmp: tmp})
	l.env = append(withoutEnv(env, "TMPDIR"), "TMPDIR="+tmp+"/")
	// The program as prepare resolved it: sandbox-exec's own PATH search
	// would read the policy's PATH again, and "--" keeps an argv that
	// starts with "-" from being read as sandbox-exec's options.
	prog := l.path
	l.path, l.argv = f.Seatbelt, append([]string{f.Seatbelt, "-p", profile, "--", prog}, c.Argv[1:]...)
	l.notes = append(l.notes, seatbeltNote(pol, lay), privateCacheNote(cacheNotes))
	return nil
}

// cloneTree clones the directory tree src to dst (which must not exist)
// in one call: APFS shares the blocks until either side writes, so the
// copy costs no data and the host's tree never sees the copy's writes.
// Other file systems, and another volume, refuse (ENOTSUP, EXDEV).
func cloneTree(src, dst string) error { return unix.Clonefile(src, dst, unix.CLONE_NOFOLLOW) }

// seatbeltNote says what the sandbox had and what Seatbelt does not
// enforce.
func seatbeltNote(pol factory.SandboxPolicy, lay fsLayout) string {
	parts := []string{"deny by default", "reads everywhere but the secret places", "writes only to the copy, the writable paths and a private TMPDIR"}
	if pol.Network {
		parts = append(parts, "network loopback only")
	} else {
		parts = append(parts, "no network")
	}
	if len(lay.overlays) > 0 {
		parts = append(parts, "host caches read-only (the run writes private clones of them)")
	}
	if len(lay.protect) > 0 {
		parts = append(parts, ".git read-only")
	}
	parts = append(parts, "secret places unreadable", "/tmp not writable (use $TMPDIR)",
		"not enforced: memory and process limits (no cgroups on macOS), pid and user isolation (the command runs as the caller's uid)")
	return "sandbox seatbelt: " + strings.Join(parts, ", ")
}

// realPaths resolves symlinks, as Seatbelt matches the real path.
func realPaths(ps []string) []string {
	out := make([]string, 0, len(ps))
	for _, p := range ps {
		if r, err := filepath.EvalSymlinks(p); err == nil {
			p = r
		}
		out = append(out, p)
	}
	return out
}
