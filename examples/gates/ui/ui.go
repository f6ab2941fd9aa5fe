// Package ui renders what core knows. It never touches storage directly.
package ui

import (
	"fmt"
	"strings"

	"example.com/gates/core"
)

// Render lists each word with its count, one per line.
func Render(c *core.Counter) string {
	var b strings.Builder
	for _, w := range c.Words() {
		fmt.Fprintf(&b, "%s: %d\n", w, c.Count(w))
	}
	return b.String()
}
