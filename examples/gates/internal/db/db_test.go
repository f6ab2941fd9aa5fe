package db

import "testing"

func TestAddAndGet(t *testing.T) {
	s := New()
	s.Add("a", 2)
	if got := s.Add("a", 3); got != 5 {
		t.Fatalf("Add = %d, want 5", got)
	}
	if got := s.Get("b"); got != 0 {
		t.Fatalf("Get(b) = %d, want 0", got)
	}
}
