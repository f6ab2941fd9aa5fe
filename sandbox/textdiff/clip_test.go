package textdiff

import (
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
)

func TestClipNeverCutsARune(t *testing.T) {
	assert.Equal(t, "abc", Clip("abc", 3))
	assert.Equal(t, "ab...", Clip("abcd", 2))
	got := Clip("aé", 2) // é is two bytes: cutting at 2 would split it
	assert.Equal(t, "a...", got)
	assert.True(t, utf8.ValidString(got))
}
