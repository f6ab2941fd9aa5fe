package factory

import (
	"math/rand/v2"
	"time"
)

// idAlphabet is lower-case base32 without i, l, o, u: readable ids.
const idAlphabet = "0123456789abcdefghjkmnpqrstvwxyz"

// NewStepID returns a step id: "st-", 8 characters of t in milliseconds,
// then 10 random characters (50 bits). Ids made close in time sort
// together, so the steps one transaction inserts land on one page of the
// id index instead of one page each. Two ids collide only when made in the
// same millisecond with the same 50 random bits: for a burst of k steps in
// one millisecond, about k*k/2^51 (2.5e-13 for 24). 25 bits were too few:
// a journaled step is acknowledged before it is inserted, and the insert
// keeps the first step of an id, so a burst of 4,800 steps lost one to a
// collision in about one run in fifty.
func NewStepID(t time.Time) string {
	var b [21]byte
	copy(b[:], "st-")
	ms := uint64(t.UnixMilli())
	for i := 10; i >= 3; i-- {
		b[i] = idAlphabet[ms&31]
		ms >>= 5
	}
	r := rand.Uint64()
	for i := 11; i < 21; i++ {
		b[i] = idAlphabet[r&31]
		r >>= 5
	}
	return string(b[:])
}

// NewID returns prefix and 10 random characters (50 bits): ids of runs,
// messages and the like, unique without coordination.
func NewID(prefix string) string {
	var b [10]byte
	r := rand.Uint64()
	for i := range b {
		b[i] = idAlphabet[r&31]
		r >>= 5
	}
	return prefix + string(b[:])
}
