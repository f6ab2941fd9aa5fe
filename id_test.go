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
	assert.Len(t, a, 16)
	assert.Regexp(t, `^st-[0-9a-hjkmnp-tv-z]{13}$`, a)
	assert.Less(t, a[:11], b[:11])
	assert.Equal(t, factory.NewStepID(t0)[:11], a[:11], "same millisecond, same time part")
	seen := map[string]bool{}
	for range 1000 {
		seen[factory.NewStepID(t0)] = true
	}
	assert.Greater(t, len(seen), 990, "the random part varies")
}

func TestNewID(t *testing.T) {
	a, b := factory.NewID("r-"), factory.NewID("r-")
	assert.Regexp(t, `^r-[0-9a-hjkmnp-tv-z]{10}$`, a)
	assert.NotEqual(t, a, b)
}
