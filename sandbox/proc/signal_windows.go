package proc

import (
	"os"
	"syscall"
)

// groupLeader starts the command in a process group of its own, which on
// Windows only routes console control events; it is no kill boundary.
func groupLeader() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{CreationFlags: syscall.CREATE_NEW_PROCESS_GROUP}
}

// signal kills the command's first process, whatever sig: Windows has no
// SIGTERM to send, and no process group to kill. What it started lives on
// (Detect says so: process tree kill not enforced on windows).
func (l *launch) signal(pid int, _ syscall.Signal) {
	if p, err := os.FindProcess(pid); err == nil {
		_ = p.Kill()
	}
}
