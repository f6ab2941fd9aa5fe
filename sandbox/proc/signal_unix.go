//go:build unix

package proc

import (
	"os"
	"strconv"
	"strings"
	"syscall"
)

// groupLeader starts the command as the leader of a process group of its
// own, so that it is killed as a group.
func groupLeader() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }

// signal sends sig to the process group and, when confined, the cgroup.
// A gentle signal reaches each process exactly once: a shell's trap, or a
// program that reads a second SIGTERM as "stop now", must see one. SIGKILL
// goes every way there is, duplicates being harmless.
func (l *launch) signal(pgid int, sig syscall.Signal) {
	if sig != syscall.SIGKILL {
		targets := processTree(pgid)
		if l.cg != nil {
			targets = append(targets, l.cg.Pids()...)
		}
		seen := map[int]bool{}
		for _, p := range targets {
			if seen[p] {
				continue
			}
			seen[p] = true
			// bwrap dies of SIGTERM and takes the sandbox down with SIGKILL
			// at once: the gentle signal goes to the processes inside only.
			if l.mode == IsoBwrap {
				if comm, _ := os.ReadFile("/proc/" + strconv.Itoa(p) + "/comm"); strings.TrimSpace(string(comm)) == "bwrap" {
					continue
				}
			}
			_ = syscall.Kill(p, sig)
		}
		return
	}
	var below []int
	if l.cg == nil {
		// Without a cgroup, processes that left the group (setsid) are found
		// as descendants while their parents live; list them before the
		// signal breaks the chain.
		below = descendants(pgid)
	}
	_ = syscall.Kill(-pgid, sig)
	for _, p := range below {
		_ = syscall.Kill(p, sig)
	}
	l.cg.Signal(sig)
}
