package sandbox

import (
	"strings"

	"github.com/factory-dev/factory"
	"github.com/factory-dev/factory/sandbox/textdiff"
)

// minIDHex is the number of hex digits a new snapshot id starts with; it is
// lengthened one digit at a time while the id is taken.
const minIDHex = 6

// snapshotIDFor returns the shortest id "s-<prefix of commit>" (at least
// minIDHex digits) for which taken reports false.
func snapshotIDFor(commitHex string, taken func(id string) bool) string {
	for n := minIDHex; n < len(commitHex); n++ {
		id := "s-" + commitHex[:n]
		if !taken(id) {
			return id
		}
	}
	return "s-" + commitHex
}

// isHex reports whether s is non-empty lowercase hexadecimal.
func isHex(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// validSnapshotID reports whether id has the form of a snapshot id:
// "s-" followed by 6 to 40 lowercase hex digits.
func validSnapshotID(id string) bool {
	h, ok := strings.CutPrefix(id, "s-")
	return ok && len(h) >= minIDHex && len(h) <= 40 && isHex(h)
}

// parseSnapshotID accepts an id ("s-3f9a2c") or its full ref name
// ("refs/factory/snapshots/s-3f9a2c") and returns the id. Anything else is
// EINVALID with a message saying what an id looks like; callers decide
// whether an input that names some other ref deserves a sharper message.
func parseSnapshotID(in string) (string, error) {
	s := strings.TrimSpace(in)
	switch {
	case s == "":
		return "", factory.Errorf(factory.EINVALID, "no snapshot id given; snapshot ids look like s-3f9a2c (list them with snapshot_list)")
	case strings.HasPrefix(s, "-"):
		return "", factory.Errorf(factory.EINVALID, "snapshot id %q must not begin with '-'; snapshot ids look like s-3f9a2c (list them with snapshot_list)", textdiff.Clip(s, 60))
	}
	s = strings.TrimPrefix(s, snapshotRefPrefix)
	if !validSnapshotID(s) {
		return "", factory.Errorf(factory.EINVALID, "%q is not a snapshot id; snapshot ids look like s-3f9a2c (list them with snapshot_list)", textdiff.Clip(s, 60))
	}
	return s, nil
}
