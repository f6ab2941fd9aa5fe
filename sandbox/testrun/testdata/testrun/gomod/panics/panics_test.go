package panics

import "testing"

func TestBeforePanic(t *testing.T) {}

func TestPanics(t *testing.T) {
	var m map[string]int
	m["boom"] = 1
}

// TestAfterPanic never runs: the panic ends the test binary.
func TestAfterPanic(t *testing.T) {}
