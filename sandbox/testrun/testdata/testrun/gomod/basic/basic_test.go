package basic

import (
	"os"
	"testing"
)

func TestAddPasses(t *testing.T) {
	if Add(2, 2) != 4 {
		t.Fatal("2+2 is not 4")
	}
}

// TestAddFails logs a lot before and after its assertion, so the report
// must pick the assertion out of the middle of its output.
func TestAddFails(t *testing.T) {
	for i := 1; i <= 20; i++ {
		t.Logf("step %d of the setup", i)
	}
	t.Errorf("Add(2, 2) = %d, want 5", Add(2, 2))
	for i := 1; i <= 20; i++ {
		t.Logf("cleanup line %d", i)
	}
}

func TestTable(t *testing.T) {
	for _, tc := range []struct {
		name string
		a, b int
		want int
	}{
		{"zero", 0, 0, 0},
		{"one", 1, 0, 2},
		{"two", 1, 1, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Add(tc.a, tc.b); got != tc.want {
				t.Errorf("Add(%d, %d) = %d, want %d", tc.a, tc.b, got, tc.want)
			}
		})
	}
}

// TestParentOwnFailure fails itself and in a subtest: the parent keeps its
// own failure and lists the subtest.
func TestParentOwnFailure(t *testing.T) {
	t.Run("child", func(t *testing.T) {
		t.Error("child broke")
	})
	t.Error("parent broke too")
}

func TestSkipped(t *testing.T) {
	t.Skip("not on this machine")
}

// TestFlaky fails the first time it runs in a tree and passes afterwards:
// the marker lives in the package directory (the run's copy), not in /tmp,
// which the sandbox makes private to each run.
func TestFlaky(t *testing.T) {
	const marker = ".flaky-ran"
	if _, err := os.Stat(marker); err == nil {
		return
	}
	if err := os.WriteFile(marker, []byte("ran\n"), 0o644); err != nil {
		t.Fatalf("write marker: %v", err)
	}
	t.Fatal("first run fails")
}
