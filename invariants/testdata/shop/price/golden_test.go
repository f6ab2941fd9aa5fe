package price

import "testing"

// Golden values agreed with accounting; this file is protected.
func TestDiscountGolden(t *testing.T) {
	if got := Discount(999, 10); got != 900 {
		t.Fatalf("Discount(999, 10) = %d, want 900", got)
	}
}
