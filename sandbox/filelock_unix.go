//go:build unix

package sandbox

import (
	"os"

	"golang.org/x/sys/unix"
)

// tryLockFile takes f's exclusive lock without waiting; it is released by
// unlockFile, or when f's process dies.
func tryLockFile(f *os.File) error { return unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB) }

func unlockFile(f *os.File) { _ = unix.Flock(int(f.Fd()), unix.LOCK_UN) }
