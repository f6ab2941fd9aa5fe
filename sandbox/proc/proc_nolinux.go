//go:build !linux

package proc

// Init does nothing off Linux: the native mode's re-executed child, which
// Init turns this binary into on Linux, exists only there.
func Init() {}
