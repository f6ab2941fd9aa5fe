package factory

import "unicode/utf8"

// Clip shortens s for a message, a log line or evidence: s itself when it
// has at most n bytes, else its first n bytes cut back to a rune boundary
// (so a multi-byte character is never split into invalid UTF-8) followed by
// "…". A negative n counts as zero.
func Clip(s string, n int) string {
	if n < 0 {
		n = 0
	}
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
