//go:build unix

package sandbox

import (
	"io/fs"
	"syscall"
)

// inoOf is fi's inode number: a fingerprint that a rewrite changes.
func inoOf(fi fs.FileInfo) uint64 { return uint64(fi.Sys().(*syscall.Stat_t).Ino) }
