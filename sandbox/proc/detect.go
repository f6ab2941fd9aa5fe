package proc

import (
	"context"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Features is what this machine offers for isolation.
type Features struct {
	Bwrap      string // path of bwrap, "" if absent
	BwrapWorks bool   // a trial bwrap run with network and pid namespaces succeeded
	UserNS     bool   // user namespaces can be created
	NetNS      bool   // network namespaces can be created
	PidNS      bool   // pid namespaces can be created
	MountNS    bool   // mount namespaces can be created
	Cgroup     string // "v2", "v1" or "": where memory and process limits are set
	Landlock   int    // Landlock ABI version, 0 if none
	Root       bool   // running as uid 0
	Best       string // "bwrap", "native" or "none": what IsoAuto picks
	Notes      []string
}

var (
	detectOnce sync.Once
	detected   Features
	layout     cgroupLayout
)

// Detect probes the machine once (a few short trial processes) and caches
// the answer. It never fails; what is missing is said in Notes. The native
// mode also needs Init to have been called; Best accounts for that only if
// Init ran before the first Detect.
func Detect() Features {
	detectOnce.Do(func() { detected, layout = probe() })
	f := detected
	f.Notes = append([]string(nil), detected.Notes...)
	return f
}

func probe() (Features, cgroupLayout) {
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
			c.SysProcAttr.UidMappings = []syscall.SysProcIDMap{{ContainerID: os.Geteuid(), HostID: os.Geteuid(), Size: 1}}
			c.SysProcAttr.GidMappings = []syscall.SysProcIDMap{{ContainerID: os.Getegid(), HostID: os.Getegid(), Size: 1}}
			c.SysProcAttr.GidMappingsEnableSetgroups = false
		}
		return c.Run() == nil
	}
	f.UserNS = try(syscall.CLONE_NEWUSER)
	var extra uintptr
	if !f.Root {
		extra = syscall.CLONE_NEWUSER
	}
	if f.Root || f.UserNS {
		f.NetNS = try(extra | syscall.CLONE_NEWNET)
		f.PidNS = try(extra | syscall.CLONE_NEWPID)
		f.MountNS = try(extra | syscall.CLONE_NEWNS)
	}
	l := detectCgroups()
	f.Cgroup = l.version
	f.Notes = append(f.Notes, l.notes...)
	f.Landlock = landlockABI()
	if f.Landlock == 0 {
		f.Notes = append(f.Notes, "Landlock not available in this kernel")
	}

	if p, err := exec.LookPath("bwrap"); err == nil {
		f.Bwrap = p
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		c := exec.CommandContext(ctx, p, "--die-with-parent", "--unshare-pid", "--unshare-net",
			"--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp", "--", trueBin)
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
	case !f.Root && !f.UserNS:
		return "not root and user namespaces are disabled"
	case !f.MountNS:
		return "mount namespaces unavailable"
	case !f.PidNS:
		return "pid namespaces unavailable"
	case !f.NetNS:
		return "network namespaces unavailable"
	}
	return ""
}

func firstLine(s string, err error) string {
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' {
			s = s[:i]
			break
		}
	}
	if s == "" && err != nil {
		return err.Error()
	}
	return s
}

// landlockABI returns the kernel's Landlock ABI version, 0 if none.
func landlockABI() int {
	v, _, errno := unix.Syscall(unix.SYS_LANDLOCK_CREATE_RULESET, 0, 0, unix.LANDLOCK_CREATE_RULESET_VERSION)
	if errno != 0 {
		return 0
	}
	return int(v)
}
