package price

import "testing"

func TestSpreadSumsBack(t *testing.T) {
	for n := 1; n < 7; n++ {
		if got := Sum(Spread(100, n)...); got != 100 {
			t.Fatalf("Sum(Spread(100, %d)) = %d", n, got)
		}
	}
}

func BenchmarkSpread(b *testing.B) {
	for i := 0; i < b.N; i++ {
		Spread(1000003, 64)
	}
}
