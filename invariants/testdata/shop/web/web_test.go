package web

import (
	"testing"

	"example.com/shop/cart"
	"example.com/shop/price"
)

func TestReceipt(t *testing.T) {
	if got := Receipt(cart.Cart{Lines: []price.Cents{1234}}); got != "total: 12.34" {
		t.Fatalf("Receipt = %q", got)
	}
}
