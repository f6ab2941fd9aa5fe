//go:build !linux && !darwin

package proc

import "github.com/factory-dev/factory"

// seatbeltExec: there is no Seatbelt off macOS.
func seatbeltExec() (string, string) { return "", "" }

// confine is never reached here: Detect finds no mechanism on this
// platform, so prepare picks none under auto and refuses a forced mode.
func (l *launch) confine(Cmd, Features, fsLayout, Mount) error {
	return factory.Errorf(factory.EUNAVAILABLE, "no isolation mechanism on this platform; use isolation none")
}
