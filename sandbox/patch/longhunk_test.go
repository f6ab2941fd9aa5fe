package patch

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/factory-dev/factory"
	"github.com/stretchr/testify/require"
)

// BenchmarkLongContextHunk applies a hunk of 5,000 context lines to a
// 200,000-line file made of one repeated line but for a marker near its
// end, the case a plain scan searches for lines × context comparisons
// (tens of seconds). The hunk matches only at the marker, far from the
// line its header names, with context on both sides (no anchoring).
func BenchmarkLongContextHunk(b *testing.B) {
	const lines, ctxLines, mark = 200_000, 5_000, 190_000
	dir := b.TempDir()
	file := strings.Repeat("x\n", mark) + "mark\n" + strings.Repeat("x\n", lines-mark-1)
	require.NoError(b, os.WriteFile(filepath.Join(dir, "big.txt"), []byte(file), 0o644))
	var p strings.Builder
	fmt.Fprintf(&p, "--- a/big.txt\n+++ b/big.txt\n@@ -10,%d +10,%d @@\n", ctxLines+1, ctxLines+1)
	p.WriteString(strings.Repeat(" x\n", ctxLines/2) + "-mark\n+MARK\n" + strings.Repeat(" x\n", ctxLines/2))
	root, err := os.OpenRoot(dir)
	require.NoError(b, err)
	defer root.Close()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		rep, err := Apply(context.Background(), root, p.String(), Options{DryRun: true})
		require.NoError(b, err)
		require.Equal(b, []factory.HunkOffset{{Hunk: 1, Offset: mark - ctxLines/2 - 9}}, rep.Files[0].Offsets)
	}
}
