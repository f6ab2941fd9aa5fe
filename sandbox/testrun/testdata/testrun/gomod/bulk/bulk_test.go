package bulk

import (
	"fmt"
	"testing"
)

func TestSquareTable(t *testing.T) {
	for n := 1; n <= 200; n++ {
		t.Run(fmt.Sprintf("n=%03d", n), func(t *testing.T) {
			got := Square(n)
			t.Logf("Square(%d) = %d", n, got)
			if got != n*n {
				t.Errorf("Square(%d) = %d, want %d", n, got, n*n)
			}
		})
	}
}
