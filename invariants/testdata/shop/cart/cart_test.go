package cart

import (
	"testing"

	"example.com/shop/price"
)

func TestTotal(t *testing.T) {
	c := Cart{Lines: []price.Cents{500, 500}}
	if got := c.Total(50); got != 500 {
		t.Fatalf("Total = %d, want 500", got)
	}
}
