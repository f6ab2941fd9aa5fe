package proc

import (
	"os"
	"path/filepath"
	"strings"

	"github.com/factory-dev/factory"
)

// sandboxExec is macOS's Seatbelt front end; it ships with every macOS.
const sandboxExec = "/usr/bin/sandbox-exec"

// seatbeltExec is the path of sandbox-exec, "" when this Mac has none.
func seatbeltExec() string {
	if st, err := os.Stat(sandboxExec); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
		return sandboxExec
	}
	return ""
}

// confine runs the command under sandbox-exec with the profile
// SeatbeltProfile writes from lay: the writable trees and the copy read
// and write, .git read-only, a private temporary directory as TMPDIR, the
// caches read-only, the secret places unreadable. The process group is
// killed on timeout as on Linux (signal_unix.go); what Seatbelt cannot do
// is said in the notes.
func (l *launch) confine(c Cmd, f Features, lay fsLayout, mnt Mount) error {
	pol := c.Confine.Policy
	l.notes = append(l.notes, lay.notes...)
	tmp, err := os.MkdirTemp("", "factory-seatbelt-")
	if err != nil {
		return factory.Errorf(factory.EINTERNAL, "confine: private temporary directory: %v", err)
	}
	if r, err := filepath.EvalSymlinks(tmp); err == nil {
		tmp = r // Seatbelt matches real paths: /var/folders is /private/var/folders
	}
	l.tmp = tmp
	writable := lay.writable
	if mnt.Src != "" {
		writable = append(writable, mnt.Src)
	}
	home := envGet(l.env, "HOME")
	if home == "" {
		home, _ = os.UserHomeDir()
	}
	profile := SeatbeltProfile(SeatbeltParams{Policy: pol, Home: home, Writable: realPaths(writable),
		Protect: realPaths(lay.protect), Caches: realPaths(lay.overlays), Read: realPaths(toolchain(l.path)), Tmp: tmp})
	l.env = append(withoutEnv(l.env, "TMPDIR"), "TMPDIR="+tmp+"/")
	// The program as prepare resolved it: sandbox-exec's own PATH search
	// would read the policy's PATH again, and "--" keeps an argv that
	// starts with "-" from being read as sandbox-exec's options.
	prog := l.path
	l.path, l.argv = f.Seatbelt, append([]string{f.Seatbelt, "-p", profile, "--", prog}, c.Argv[1:]...)
	l.notes = append(l.notes, seatbeltNote(pol, lay))
	return nil
}

// toolchain is what the program needs to read besides the system: its
// directory, and, for a bin directory, the tree above it (a Go, Node or
// Rust toolchain installed under the home directory finds its standard
// library there).
func toolchain(prog string) []string {
	dir := filepath.Dir(prog)
	if filepath.Base(dir) == "bin" {
		return []string{filepath.Dir(dir)}
	}
	return []string{dir}
}

// seatbeltNote says what the sandbox had and what Seatbelt does not
// enforce.
func seatbeltNote(pol factory.SandboxPolicy, lay fsLayout) string {
	parts := []string{"deny by default", "writes only to the copy, the writable paths and a private TMPDIR"}
	if pol.Network {
		parts = append(parts, "network loopback only")
	} else {
		parts = append(parts, "no network")
	}
	if len(lay.overlays) > 0 {
		parts = append(parts, "host caches read-only (no copy-on-write layer on macOS)")
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
