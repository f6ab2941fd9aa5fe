package proc

import (
	"sync"

	"github.com/factory-dev/factory/sandbox/proc/cgroup"
)

// Features is what this machine offers for isolation.
type Features struct {
	Bwrap      string // path of bwrap, "" if absent
	BwrapWorks bool   // a trial bwrap run as a sandbox runs (user, network and pid namespaces, no capabilities) succeeded
	// BwrapDisableUserns: bwrap has --disable-userns (0.8 and later), so a
	// command cannot make a user namespace of its own.
	BwrapDisableUserns bool
	Seccomp            bool   // the kernel has seccomp filters: every sandbox gets one
	UserNS             bool   // user namespaces can be created
	NetNS              bool   // network namespaces can be created
	PidNS              bool   // pid namespaces can be created
	MountNS            bool   // mount namespaces can be created
	Cgroup             string // "v2", "v1" or "": where memory and process limits are set
	Landlock           int    // Landlock ABI version, 0 if none
	Root               bool   // running as uid 0
	Seatbelt           string // path of sandbox-exec (macOS), "" if absent
	Best               string // "bwrap", "native", "seatbelt" or "none": what IsoAuto picks
	Notes              []string
}

var (
	detectOnce sync.Once
	detected   Features
	layout     cgroup.Layout
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
