package proc

import (
	"time"

	"golang.org/x/sys/unix"
)

// waitExit waits for pid to exit without reaping it, so the process group
// id cannot be reused while what is left in it is killed. macOS has no
// waitid in x/sys, but kqueue reports a child's exit (EVFILT_PROC,
// NOTE_EXIT) and leaves it a zombie for cmd.Wait to reap.
func waitExit(pid int) {
	kq, err := unix.Kqueue()
	if err != nil {
		pollExit(pid)
		return
	}
	defer unix.Close(kq)
	change := []unix.Kevent_t{{Ident: uint64(pid), Filter: unix.EVFILT_PROC,
		Flags: unix.EV_ADD | unix.EV_ONESHOT, Fflags: unix.NOTE_EXIT}}
	out := make([]unix.Kevent_t, 1)
	for {
		n, err := unix.Kevent(kq, change, out, nil)
		switch {
		case err == unix.EINTR:
			continue
		case err == unix.ESRCH:
			return // an unreaped child kqueue no longer finds is a zombie: it exited
		case err != nil:
			pollExit(pid)
			return
		case n == 1 && out[0].Flags&unix.EV_ERROR != 0:
			if unix.Errno(out[0].Data) != unix.ESRCH {
				pollExit(pid)
			}
			return
		case n == 1:
			return
		}
	}
}

// pollExit is waitExit without kqueue (out of descriptors): it reads the
// process's state until it is a zombie (SZOMB) or gone.
func pollExit(pid int) {
	const szomb = 5
	for {
		kp, err := unix.SysctlKinfoProc("kern.proc.pid", pid)
		if err != nil || kp.Proc.P_pid != int32(pid) || kp.Proc.P_stat == szomb {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}
