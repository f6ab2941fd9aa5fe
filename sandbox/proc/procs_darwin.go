package proc

import "golang.org/x/sys/unix"

// readProcs reads the process table once, from the kern.proc.all sysctl:
// macOS has no /proc, and without the table a gentle signal would reach
// the group's leader only, and a process that left the group (setsid)
// would survive the kill.
func readProcs() procTable {
	t := procTable{}
	kps, err := unix.SysctlKinfoProcSlice("kern.proc.all")
	if err != nil {
		return t
	}
	for _, kp := range kps {
		if kp.Proc.P_pid > 0 {
			t[int(kp.Proc.P_pid)] = procStat{ppid: int(kp.Eproc.Ppid), pgrp: int(kp.Eproc.Pgid)}
		}
	}
	return t
}
