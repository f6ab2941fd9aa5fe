//go:build linux

package proc

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// escape is the helper mode "escape": from inside a sandbox it tries each
// named way out with the system call itself (no tool this machine may
// lack) and prints one line per attempt, "name: ok" or "name: <error>",
// then the capability, no_new_privs and seccomp lines of its status.
func escape(actions []string) int {
	for _, a := range actions {
		fmt.Printf("%s: %s\n", a, result(tryEscape(a)))
	}
	st, _ := os.ReadFile("/proc/self/status")
	for _, l := range strings.Split(string(st), "\n") {
		for _, k := range []string{"Uid:", "CapInh:", "CapPrm:", "CapEff:", "CapBnd:", "CapAmb:", "NoNewPrivs:", "Seccomp:"} {
			if strings.HasPrefix(l, k) {
				fmt.Println(strings.Join(strings.Fields(l), " "))
			}
		}
	}
	return 0
}

func result(err error) string {
	if err == nil {
		return "ok"
	}
	return err.Error()
}

func tryEscape(action string) error {
	switch action {
	case "remount-rw": // the root read-write again
		return unix.Mount("", "/", "", unix.MS_REMOUNT|unix.MS_BIND, "")
	case "umount-tmp": // reveal the host's /tmp under the private one
		return unix.Unmount("/tmp", unix.MNT_DETACH)
	case "clone-user": // a user namespace of its own, full capabilities in it (unshare(2) is for the shell: Go is multithreaded)
		c := exec.Command("/bin/true")
		c.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWUSER}
		return c.Run()
	case "capset": // raise every capability
		hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
		data := [2]unix.CapUserData{{Effective: ^uint32(0), Permitted: ^uint32(0)}, {Effective: ^uint32(0), Permitted: ^uint32(0)}}
		return unix.Capset(&hdr, &data[0])
	case "ptrace": // attach to a process of its own
		c := exec.Command("/bin/sleep", "5")
		if err := c.Start(); err != nil {
			return fmt.Errorf("start: %w", err)
		}
		defer func() { _ = c.Process.Kill(); _ = c.Wait() }()
		err := unix.PtraceAttach(c.Process.Pid)
		if err == nil {
			time.Sleep(10 * time.Millisecond)
			_ = unix.PtraceDetach(c.Process.Pid)
		}
		return err
	case "keyctl": // the kernel keyring
		_, err := unix.KeyctlJoinSessionKeyring("factory-attack")
		return err
	case "add_key":
		_, err := unix.AddKey("user", "factory-attack", []byte("x"), unix.KEY_SPEC_PROCESS_KEYRING)
		return err
	case "setns": // the host's mount namespace through pid 1's
		fd, err := unix.Open("/proc/1/ns/mnt", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		return unix.Setns(fd, 0)
	}
	return fmt.Errorf("unknown action %q", action)
}
