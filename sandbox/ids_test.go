package sandbox

import (
	"testing"

	"github.com/factory-dev/factory"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSnapshotIDsLengthenOnCollision(t *testing.T) {
	c := "3f9a2c7d0e1b2a3c4d5e6f708192a3b4c5d6e7f8"
	taken := map[string]bool{}
	free := func(id string) bool { return taken[id] }
	assert.Equal(t, "s-3f9a2c", snapshotIDFor(c, free))
	taken["s-3f9a2c"] = true
	assert.Equal(t, "s-3f9a2c7", snapshotIDFor(c, free))
	taken["s-3f9a2c7"] = true
	assert.Equal(t, "s-3f9a2c7d", snapshotIDFor(c, free))
	for n := 6; n < 40; n++ {
		taken["s-"+c[:n]] = true
	}
	assert.Equal(t, "s-"+c, snapshotIDFor(c, free))
}

func TestParseSnapshotID(t *testing.T) {
	for _, ok := range []string{"s-3f9a2c", " s-3f9a2c ", "refs/factory/snapshots/s-3f9a2c7", "s-" + "3f9a2c7d0e1b2a3c4d5e6f708192a3b4c5d6e7f8"} {
		_, err := parseSnapshotID(ok)
		require.NoError(t, err, ok)
	}
	for _, bad := range []string{"", "-s", "--all", "s-3f9a2", "s-3F9A2C", "s-3f9a2g", "refs/heads/main", "s-3f9a2c/..", "x-3f9a2c"} {
		_, err := parseSnapshotID(bad)
		assert.Equal(t, factory.EINVALID, factory.ErrorCode(err), bad)
	}
}
