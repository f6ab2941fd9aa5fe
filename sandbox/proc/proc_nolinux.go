//go:build !linux

package proc

import (
	"syscall"
	"time"
)

// cgroupLayout and cgroup exist on Linux only; here there is never a
// cgroup, and a nil *cgroup does nothing, as on a Linux without one.
type cgroupLayout struct{}

type cgroup struct{}

func (*cgroup) destroy(time.Duration) bool { return true }
func (*cgroup) events() []string           { return nil }
func (*cgroup) pids() []int                { return nil }

func (*cgroup) signal(syscall.Signal) {}

// Init does nothing off Linux: the native mode's re-executed child, which
// Init turns this binary into on Linux, exists only there.
func Init() {}
