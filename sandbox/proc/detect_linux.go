package proc

import (
	"context"
	"github.com/factory-dev/factory/sandbox/proc/cgroup"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

func probe() (Features, cgroup.Layout) {
	var f Features
	f.Root = os.Geteuid() == 0
	trueBin, _ := exec.LookPath("true")
	try := func(flags uintptr) bool {
		if trueBin == "" {
			return false
		}
		c := exec.Command(trueBin)
		c.SysProcAttr = &syscall.SysProcAttr{Cloneflags: flags}
		if flags&syscall.CLONE_NEWUSER != 0 {
			c.SysProcAttr.UidMappings = []syscall.SysProcIDMap{{ContainerID: insideID(os.Geteuid()), HostID: os.Geteuid(), Size: 1}}
			c.SysProcAttr.GidMappings = []syscall.SysProcIDMap{{ContainerID: insideID(os.Getegid()), HostID: os.Getegid(), Size: 1}}
			c.SysProcAttr.GidMappingsEnableSetgroups = false
		}
		return c.Run() == nil
	}
	f.UserNS = try(syscall.CLONE_NEWUSER)
	// The native mode makes every namespace inside a new user namespace,
	// root or not: probe them so.
	if f.UserNS {
		f.NetNS = try(syscall.CLONE_NEWUSER | syscall.CLONE_NEWNET)
		f.PidNS = try(syscall.CLONE_NEWUSER | syscall.CLONE_NEWPID)
		f.MountNS = try(syscall.CLONE_NEWUSER | syscall.CLONE_NEWNS)
	}
	l := cgroup.Detect()
	f.Cgroup = l.Version
	f.Notes = append(f.Notes, l.Notes...)
	f.Seccomp = seccompAvailable()
	f.Landlock = landlockABI()
	if f.Landlock == 0 {
		f.Notes = append(f.Notes, "Landlock not available in this kernel")
	}

	if p, err := exec.LookPath("bwrap"); err == nil {
		f.Bwrap = p
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		help, _ := exec.CommandContext(ctx, p, "--help").CombinedOutput()
		f.BwrapDisableUserns = strings.Contains(string(help), "--disable-userns")
		args := []string{"--die-with-parent", "--unshare-user", "--uid", strconv.Itoa(insideID(os.Geteuid())),
			"--gid", strconv.Itoa(insideID(os.Getegid())), "--cap-drop", "ALL"}
		if f.BwrapDisableUserns {
			args = append(args, "--disable-userns")
		}
		args = append(args, "--unshare-pid", "--unshare-net",
			"--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp", "--", trueBin)
		c := exec.CommandContext(ctx, p, args...)
		if out, err := c.CombinedOutput(); err == nil && trueBin != "" {
			f.BwrapWorks = true
		} else {
			f.Notes = append(f.Notes, "bubblewrap present but a trial run failed: "+firstLine(string(out), err))
		}
	} else {
		f.Notes = append(f.Notes, "bubblewrap not found")
	}
	switch {
	case f.BwrapWorks:
		f.Best = IsoBwrap
	case nativeReason(f) == "":
		f.Best = IsoNative
	default:
		f.Best = IsoNone
	}
	return f, l
}

// nativeReason says why the native mode is unavailable, "" if it is.
func nativeReason(f Features) string {
	switch {
	case !initCalled.Load():
		return "proc.Init was not called by this binary"
	case !f.UserNS:
		return "user namespaces are disabled (a sandbox runs in one even for root)"
	case !f.MountNS:
		return "mount namespaces unavailable"
	case !f.PidNS:
		return "pid namespaces unavailable"
	case !f.NetNS:
		return "network namespaces unavailable"
	}
	return ""
}

// landlockABI returns the kernel's Landlock ABI version, 0 if none.
func landlockABI() int {
	v, _, errno := unix.Syscall(unix.SYS_LANDLOCK_CREATE_RULESET, 0, 0, unix.LANDLOCK_CREATE_RULESET_VERSION)
	if errno != 0 {
		return 0
	}
	return int(v)
}

// Describe says in one line what a sandbox of mode Best gets on this
// machine, e.g. "bwrap: user namespace uid 65534, capabilities none,
// no_new_privs, seccomp, no nested user namespaces, host caches
// copy-on-write, secret places hidden, .git read-only".
func (f Features) Describe() string {
	if f.Best == IsoNone || f.Best == "" {
		return "none: commands run unconfined, as " + strconv.Itoa(os.Geteuid()) + ", with the caller's capabilities"
	}
	parts := []string{"user namespace uid " + strconv.Itoa(insideID(os.Geteuid())), "capabilities none", "no_new_privs"}
	if f.Seccomp {
		parts = append(parts, "seccomp")
	} else {
		parts = append(parts, "no seccomp (not in this kernel)")
	}
	if f.Best == IsoNative || f.BwrapDisableUserns {
		parts = append(parts, "no nested user namespaces")
	}
	if f.Best == IsoNative && f.Landlock > 0 {
		parts = append(parts, "landlock v"+strconv.Itoa(f.Landlock))
	}
	parts = append(parts, "host caches copy-on-write", "secret places hidden", ".git read-only")
	return f.Best + ": " + strings.Join(parts, ", ")
}

// IsolationFix says what gives this machine isolation when Detect found
// none.
func IsolationFix() string {
	return "install bubblewrap (apt-get install bubblewrap), or run where user namespaces are allowed"
}
