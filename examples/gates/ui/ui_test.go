package ui

import (
	"testing"

	"example.com/gates/core"
)

func TestRender(t *testing.T) {
	c := core.NewCounter()
	c.AddText("b a b")
	if got, want := Render(c), "a: 1\nb: 2\n"; got != want {
		t.Fatalf("Render = %q, want %q", got, want)
	}
}
