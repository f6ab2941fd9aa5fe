package factory_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/factory-dev/factory"
	"github.com/stretchr/testify/assert"
)

func TestClip(t *testing.T) {
	for _, c := range []struct {
		s    string
		n    int
		want string
	}{
		{"", 5, ""},
		{"short", 5, "short"},
		{"shorter", 5, "short…"},
		{"abc", 0, "…"},
		{"abc", -1, "…"},
		{"", -1, ""},
		// "é" is two bytes: a cut inside it goes back to its start
		{"aé", 2, "a…"},
		{"aé", 3, "aé"},
		// "€" is three bytes, "😀" four
		{"€€", 4, "€…"},
		{"😀x", 3, "…"},
		{"x😀", 4, "x…"},
	} {
		got := factory.Clip(c.s, c.n)
		assert.Equal(t, c.want, got, "Clip(%q, %d)", c.s, c.n)
		assert.True(t, utf8.ValidString(got), "Clip(%q, %d) = %q is not valid UTF-8", c.s, c.n, got)
	}
}

// Every cut of a string mixing one- to four-byte runes is valid UTF-8, a
// prefix of the string, and at most n bytes before the ellipsis.
func TestClipEveryCut(t *testing.T) {
	s := "aé€😀b" + strings.Repeat("ж", 5)
	for n := 0; n <= len(s)+1; n++ {
		got := factory.Clip(s, n)
		assert.True(t, utf8.ValidString(got), "n=%d: %q", n, got)
		body := strings.TrimSuffix(got, "…")
		assert.True(t, strings.HasPrefix(s, body), "n=%d: %q", n, got)
		assert.LessOrEqual(t, len(body), n, "n=%d", n)
		if n >= len(s) {
			assert.Equal(t, s, got)
		}
	}
}
