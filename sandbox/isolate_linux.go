package sandbox

import (
	"fmt"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// overlaySupported reports whether this process may mount overlays: it
// must be root (in its user namespace). A mount that still fails (no
// overlay module, nested overlays) falls back to a plain copy.
func overlaySupported() bool { return os.Geteuid() == 0 }

func mountOverlay(lower, upper, work, merged string) error {
	for _, p := range []string{lower, upper, work} {
		if strings.ContainsAny(p, ",:\\") {
			return fmt.Errorf("path %q cannot be passed to an overlay mount", p)
		}
	}
	opts := "lowerdir=" + lower + ",upperdir=" + upper + ",workdir=" + work
	if err := unix.Mount("overlay", merged, "overlay", unix.MS_NODEV|unix.MS_NOSUID, opts); err != nil {
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
