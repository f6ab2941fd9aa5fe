package textdiff

import "unicode/utf8"

// Clip shortens s to at most n bytes for use in messages, marking the cut
// with "...". It never cuts a UTF-8 sequence in half.
func Clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "..."
}
