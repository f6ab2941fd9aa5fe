package patch

import "golang.org/x/sys/unix"

// roomy reports whether dir is a directory with at least free bytes
// available.
func roomy(dir string, free uint64) bool {
	var st unix.Statfs_t
	return unix.Statfs(dir, &st) == nil && st.Bavail*uint64(st.Bsize) >= free
}
