//go:build !linux

package copies

import "errors"

func OverlaySupported() bool { return false }

func mountOverlay(lower, upper, work, merged string) error {
	return errors.New("overlay mounts need Linux")
}

func unmountOverlay(merged string) error { return nil }
