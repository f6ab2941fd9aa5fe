package panics

import "testing"

func TestBeforePanic(t *testing.T) {}

func TestPanics(t *testing.T) {
	var m map[string]int
	m["boom"] = 1
}

// TestAfterPanic does not run in the binary TestPanics ends: test_run
// runs it again without TestPanics.
func TestAfterPanic(t *testing.T) {}
