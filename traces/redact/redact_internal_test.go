package redact

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// hintReference is the plain definition mayHoldSecret implements in one
// pass.
func hintReference(s string) bool {
	return containsAny(strings.ToLower(s), secretHints) || hasBase64Run(s, awsSecretLen)
}

// mayHoldSecret agrees with its plain definition on text built from hint
// fragments in random case, with multi-byte characters (the two that
// lower-case to ASCII among them) and hints at either end or cut short.
func TestMayHoldSecretMatchesReference(t *testing.T) {
	pieces := []string{"a", "x", " ", "\"", ":", "/", "é", "K", "\u212a", "\u0130", "ß", "ey", "ok", "se", "pass", "_",
		"Q7bZ1mWx9R", "Q7bZ1mWx9Rv3Lc8Np2Tz", "Q7bZ1mWx9Rv3Lc8Np2Tz+", "="} // runs of 40 base64 characters, and of 39 and 41
	for _, h := range secretHints {
		pieces = append(pieces, h, h[:len(h)-1], h[1:], strings.ToUpper(h))
	}
	r := rand.New(rand.NewPCG(1, 2))
	hits := 0
	for range 20000 {
		var b strings.Builder
		for range r.IntN(6) {
			p := pieces[r.IntN(len(pieces))]
			if r.IntN(3) == 0 { // random case, byte by byte
				bs := []byte(p)
				for i, c := range bs {
					if r.IntN(2) == 0 && 'a' <= c && c <= 'z' {
						bs[i] = c - 'a' + 'A'
					}
				}
				p = string(bs)
			}
			b.WriteString(p)
		}
		s := b.String()
		want := hintReference(s)
		if want {
			hits++
		}
		if !assert.Equal(t, want, mayHoldSecret(s), "%q", s) {
			return
		}
	}
	assert.Greater(t, hits, 1000, "the corpus holds hints")
	assert.Less(t, hits, 19000, "and text without")
	assert.True(t, mayHoldSecret("\u212aEY=1"), "Kelvin's K lower-cases to k")
	assert.True(t, mayHoldSecret("CREDENT\u0130AL=1"), "İ lower-cases to i")
	assert.True(t, mayHoldSecret("x Q7bZ1mWx9Rv3Lc8Np2TzQ7bZ1mWx9Rv3Lc8Np2Tz"), "a bare 40-character key at the end")
	assert.False(t, mayHoldSecret("Q7bZ1mWx9Rv3Lc8Np2TzQ7bZ1mWx9Rv3Lc8Np2Tz1"), "41 characters are not an AWS secret")
}

func FuzzMayHoldSecret(f *testing.F) {
	f.Add("token")
	f.Add("{\"text\":\"hello\"}")
	f.Fuzz(func(t *testing.T, s string) {
		if mayHoldSecret(s) != hintReference(s) {
			t.Fatalf("mayHoldSecret(%q) = %v", s, !hintReference(s))
		}
	})
}
