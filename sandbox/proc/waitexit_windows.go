package proc

import "syscall"

// waitExit waits until pid has exited. Without it the watchdog would take
// a running command for finished and kill it at once. The handle exec.Cmd
// keeps open holds the pid, so it cannot be reused while this waits.
func waitExit(pid int) {
	h, err := syscall.OpenProcess(syscall.SYNCHRONIZE, false, uint32(pid))
	if err != nil {
		return
	}
	defer syscall.CloseHandle(h)
	_, _ = syscall.WaitForSingleObject(h, syscall.INFINITE)
}
