// Package price holds money arithmetic: the bottom layer.
package price

// Cents is an amount of money.
type Cents int64

// Discount takes pct percent off c, rounding down to whole cents.
func Discount(c Cents, pct int) Cents { return c - c*Cents(pct)/100 }

// Sum adds amounts.
func Sum(cs ...Cents) Cents {
	var t Cents
	for _, c := range cs {
		t += c
	}
	return t
}

// Spread divides c into n parts whose sum is c, largest first.
func Spread(c Cents, n int) []Cents {
	out := make([]Cents, n)
	for i := range out {
		out[i] = c / Cents(n)
		if Cents(i) < c%Cents(n) {
			out[i]++
		}
	}
	return out
}
