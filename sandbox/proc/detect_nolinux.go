//go:build !linux

package proc

import (
	"os"
	"runtime"
	"strconv"

	"github.com/factory-dev/factory/sandbox/proc/cgroup"
)

// probe finds what isolation this platform has: Seatbelt on macOS, when
// sandbox-exec is there; nothing on Windows. There are no namespaces, no
// cgroups, no seccomp and no Landlock off Linux, so those stay false.
func probe() (Features, cgroup.Layout) {
	f := Features{Root: os.Geteuid() == 0, Best: IsoNone}
	var why string
	f.Seatbelt, why = seatbeltExec()
	if why != "" {
		f.Notes = append(f.Notes, "seatbelt unavailable: "+why)
	}
	if f.Seatbelt != "" {
		f.Best = IsoSeatbelt
		f.Notes = append(f.Notes, "memory and process limits not enforced: no cgroups on "+runtime.GOOS)
	} else {
		f.Notes = append(f.Notes, "no isolation mechanism on "+runtime.GOOS+": commands run unconfined")
	}
	if runtime.GOOS == "windows" {
		f.Notes = append(f.Notes, "process tree kill not enforced on windows: only the first process is killed on timeout")
	}
	return f, cgroup.Layout{}
}

// nativeReason: the native mode is made of Linux namespaces.
func nativeReason(Features) string { return "Linux namespaces do not exist on " + runtime.GOOS }

// Describe says in one line what a sandbox of mode Best gets here.
func (f Features) Describe() string {
	if f.Best == IsoSeatbelt {
		return "seatbelt: sandbox-exec profile, deny by default, host readable, writes only to the copy, a private TMPDIR " +
			"and private clones of the caches, network off or loopback only, secret places unreadable; " +
			"not enforced: memory and process limits (no cgroups), the copy at the live tree's path (no mount namespace), " +
			"pid and user isolation (runs as uid " + strconv.Itoa(os.Geteuid()) + ")"
	}
	return "none: commands run unconfined, as " + strconv.Itoa(os.Geteuid()) + ", with the caller's privileges"
}

// IsolationFix says what gives this machine isolation when Detect found
// none.
func IsolationFix() string {
	if runtime.GOOS == "darwin" {
		return "sandbox-exec ships with macOS: check that /usr/bin/sandbox-exec exists and is executable"
	}
	return "there is no isolation factory can use on " + runtime.GOOS + ": run factory under WSL2 (Linux), where bubblewrap works"
}
