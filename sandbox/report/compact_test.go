package report

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// A failure's output keeps what its fields do not say: the diff and the
// source line stay; the restated message, the bare location and the
// runners' boilerplate go.
func TestCompactOutput(t *testing.T) {
	for _, tc := range []struct {
		name, msg, file string
		line            int
		in, want        []string
	}{
		{"vitest", "expected 400 to be 401 // Object.is equality", "test/money.test.ts", 6,
			[]string{"AssertionError: expected 400 to be 401 // Object.is equality", "", "- Expected", "+ Received", "", "- 401", "+ 400", "", " ❯ test/money.test.ts:6:27"},
			[]string{"- Expected", "+ Received", "", "- 401", "+ 400"}},
		{"pytest", "AssertionError: assert 3 == 4", "tests/test_x.py", 7,
			[]string{"def test_x():", ">       assert f() == 4", "E       AssertionError: assert 3 == 4", "E        +  where 3 = f()", "E         Use -v to get more diff", "", "tests/test_x.py:7: AssertionError"},
			[]string{"def test_x():", ">       assert f() == 4", "E        +  where 3 = f()"}},
		{"rust", "assertion `left == right` failed (left: 13, right: 14)", "src/lib.rs", 17,
			[]string{"printed by the test", "thread 'tests::a' (104) panicked at src/lib.rs:17:9:", "assertion `left == right` failed", "  left: 13", " right: 14"},
			[]string{"printed by the test"}},
		{"another place stays", "boom", "src/lib.rs", 17,
			[]string{"called from src/other.rs:3 in helper"}, []string{"called from src/other.rs:3 in helper"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, compactOutput(tc.in, tc.msg, tc.file, tc.line))
		})
	}
}
