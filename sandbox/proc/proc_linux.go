package proc

import "golang.org/x/sys/unix"

// waitExit waits for pid to exit without reaping it, so the process group
// id cannot be reused while what is left in it is killed.
func waitExit(pid int) {
	for {
		var info unix.Siginfo
		err := unix.Waitid(unix.P_PID, pid, &info, unix.WEXITED|unix.WNOWAIT, nil)
		if err != unix.EINTR {
			return
		}
	}
}
