//go:build !linux

package cgroup

import (
	"syscall"
	"time"
)

// Layout is empty off Linux: there is no cgroup to create.
type Layout struct {
	Version string
	Notes   []string
}

// Group exists on Linux only; a nil *Group does nothing.
type Group struct{}

// Detect finds no controller off Linux.
func Detect() Layout { return Layout{} }

// New never makes a group off Linux.
func New(Layout, int64, int) (*Group, []string) { return nil, nil }

func (*Group) ProcsFiles() []string       { return nil }
func (*Group) Pids() []int                { return nil }
func (*Group) Signal(syscall.Signal)      {}
func (*Group) Events() []string           { return nil }
func (*Group) Destroy(time.Duration) bool { return true }
func (*Group) Full() bool                 { return false }
