package sandbox

import (
	"os"

	"golang.org/x/sys/windows"
)

// tryLockFile takes f's exclusive lock without waiting (LockFileEx on its
// first byte); it is released by unlockFile, or when f's process dies.
func tryLockFile(f *os.File) error {
	var ol windows.Overlapped
	return windows.LockFileEx(windows.Handle(f.Fd()), windows.LOCKFILE_EXCLUSIVE_LOCK|windows.LOCKFILE_FAIL_IMMEDIATELY, 0, 1, 0, &ol)
}

func unlockFile(f *os.File) {
	var ol windows.Overlapped
	_ = windows.UnlockFileEx(windows.Handle(f.Fd()), 0, 1, 0, &ol)
}
