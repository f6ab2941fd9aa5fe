// Package cart adds up orders using price.
package cart

import "example.com/shop/price"

// Cart is a list of line amounts.
type Cart struct{ Lines []price.Cents }

// Total is the sum of the lines after a discount in percent.
func (c Cart) Total(discount int) price.Cents {
	return price.Discount(price.Sum(c.Lines...), discount)
}
