// Package core is the domain: it counts words through the db layer and
// checksums text.
package core

import (
	"strings"

	"example.com/gates/internal/db"
)

// Counter counts words.
type Counter struct{ store *db.Store }

// NewCounter returns an empty Counter.
func NewCounter() *Counter { return &Counter{store: db.New()} }

// AddText counts every word of text.
func (c *Counter) AddText(text string) {
	for _, w := range strings.Fields(text) {
		c.store.Add(strings.ToLower(w), 1)
	}
}

// Count returns how often word was seen.
func (c *Counter) Count(word string) int { return c.store.Get(strings.ToLower(word)) }

// Words returns the words seen, sorted.
func (c *Counter) Words() []string { return c.store.Keys() }

// Checksum is a 32-bit FNV-1a hash of data.
func Checksum(data []byte) uint32 {
	h := uint32(2166136261)
	for _, b := range data {
		h ^= uint32(b)
		h *= 16777619
	}
	return h
}
