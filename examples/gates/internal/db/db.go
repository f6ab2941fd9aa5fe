// Package db is the storage layer. Only core may use it; ui goes through
// core (the layering invariant in factory.yaml).
package db

import "sort"

// Store is an in-memory table of counters.
type Store struct{ m map[string]int }

// New returns an empty Store.
func New() *Store { return &Store{m: map[string]int{}} }

// Add adds n to key's counter and returns the new value.
func (s *Store) Add(key string, n int) int {
	s.m[key] += n
	return s.m[key]
}

// Get returns key's counter.
func (s *Store) Get(key string) int { return s.m[key] }

// Keys returns the keys in order.
func (s *Store) Keys() []string {
	keys := make([]string, 0, len(s.m))
	for k := range s.m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
