package factory_test

import (
	"testing"
	"time"

	"github.com/factory-dev/factory"
	"github.com/stretchr/testify/assert"
)

func TestStepIDsSortByTime(t *testing.T) {
	t0 := time.Date(2026, 11, 21, 13, 0, 0, 0, time.UTC)
	a, b := factory.NewStepID(t0), factory.NewStepID(t0.Add(time.Millisecond))
	assert.Len(t, a, 21)
	assert.Regexp(t, `^st-[0-9a-hjkmnp-tv-z]{18}$`, a)
	assert.Less(t, a[:11], b[:11])
	assert.Equal(t, factory.NewStepID(t0)[:11], a[:11], "same millisecond, same time part")
	// A burst far larger than any run log sees in one millisecond draws
	// no id twice: with 25 random bits, 100,000 ids collided about 150
	// times.
	seen := map[string]bool{}
	for range 100_000 {
		seen[factory.NewStepID(t0)] = true
	}
	assert.Len(t, seen, 100_000, "ids made in one millisecond are distinct")
}

func TestNewID(t *testing.T) {
	a, b := factory.NewID("r-"), factory.NewID("r-")
	assert.Regexp(t, `^r-[0-9a-hjkmnp-tv-z]{10}$`, a)
	assert.NotEqual(t, a, b)
}
