package copies

import (
	"fmt"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// OverlaySupported reports whether this process may mount overlays: it
// must be root (in its user namespace). A mount that still fails (no
// overlay module, nested overlays) falls back to a plain copy.
func OverlaySupported() bool { return os.Geteuid() == 0 }

func mountOverlay(lower, upper, work, merged string) error {
	for _, p := range []string{lower, upper, work} {
		if strings.ContainsAny(p, ",:\\") {
			return fmt.Errorf("path %q cannot be passed to an overlay mount", p)
		}
	}
	opts := "lowerdir=" + lower + ",upperdir=" + upper + ",workdir=" + work
	// volatile (Linux 5.10+): a copy is thrown away, so its writes need
	// not reach the disk; without it every unmount syncs the whole
	// filesystem the upper dir is on. Older kernels refuse the option.
	err := unix.Mount("overlay", merged, "overlay", unix.MS_NODEV|unix.MS_NOSUID, opts+",volatile")
	if err == unix.EINVAL {
		err = unix.Mount("overlay", merged, "overlay", unix.MS_NODEV|unix.MS_NOSUID, opts)
	}
	if err != nil {
		return fmt.Errorf("mount overlay on %s: %w", merged, err)
	}
	return nil
}

func unmountOverlay(merged string) error {
	if err := unix.Unmount(merged, unix.MNT_DETACH); err != nil && err != unix.EINVAL && err != unix.ENOENT {
		return err
	}
	return nil
}
