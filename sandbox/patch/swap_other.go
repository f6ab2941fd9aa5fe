//go:build !linux

package patch

import "os"

// openFlags are added to every open of a file: none here.
const openFlags = 0

// noFollow is unused here: files are reused only where they are exchanged.
const noFollow = 0

// exchange is Linux's renameat2(RENAME_EXCHANGE); elsewhere files are
// checked and replaced with a rename.
func exchange(dir *os.File, tmp, base string) error { return errNoExchange }

// sameChangeTime is true: the change time is compared on Linux only.
func sameChangeTime(a, b os.FileInfo) bool { return true }

// soleOwnFile is false: files are reused only where they are exchanged.
func soleOwnFile(info os.FileInfo, uid, gid int) bool { return false }

// unshared is false: files are reused only where they are exchanged.
func unshared(f *os.File) bool { return false }
