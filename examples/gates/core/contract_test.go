package core

import "testing"

// The checksum contract: these values are stored by users, they never
// change. factory.yaml protects this file.
func TestChecksumContract(t *testing.T) {
	for in, want := range map[string]uint32{
		"":       2166136261,
		"a":      0xe40c292c,
		"foobar": 0xbf9cf968,
	} {
		if got := Checksum([]byte(in)); got != want {
			t.Errorf("Checksum(%q) = %#x, want %#x", in, got, want)
		}
	}
}
