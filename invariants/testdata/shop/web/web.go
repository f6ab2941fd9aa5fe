// Package web formats carts for people. It talks to cart only.
package web

import (
	"fmt"

	"example.com/shop/cart"
)

// Receipt formats a cart's total.
func Receipt(c cart.Cart) string {
	t := c.Total(0)
	return fmt.Sprintf("total: %d.%02d", t/100, t%100)
}
