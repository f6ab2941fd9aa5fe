package patch

import (
	"bytes"
	"compress/zlib"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/bluekeyes/go-gitdiff/gitdiff"
	"github.com/factory-dev/factory"
	"github.com/factory-dev/factory/internal/attacktest"
	"github.com/factory-dev/factory/internal/gittest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// binaryFileSection is a git binary patch section for name with one
// forward fragment carrying data (zlib-compressed here) of the given method
// and declared size.
func binaryFileSection(t testing.TB, name, header string, method gitdiff.BinaryPatchMethod, data []byte, size int64) string {
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	_, err := zw.Write(data)
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	frag := &gitdiff.BinaryFragment{Method: method, Size: size, RawData: z.Bytes()}
	return fmt.Sprintf("diff --git a/%s b/%s\n%sGIT binary patch\n%s\n", name, name, header, frag.String())
}

func varint(n int64) []byte {
	var out []byte
	for {
		c := byte(n & 0x7f)
		n >>= 7
		if n == 0 {
			return append(out, c)
		}
		out = append(out, c|0x80)
	}
}

// copyDelta is a git delta that copies the whole 4096-byte source ops
// times (two bytes per op) and declares dstSize as its result's size.
func copyDelta(ops int, dstSize int64) []byte {
	d := append(varint(4096), varint(dstSize)...)
	for i := 0; i < ops; i++ {
		d = append(d, 0x80|0x20, 0x10) // copy from offset 0, size 0x1000
	}
	return d
}

// applyBoth runs the patch as a dry run and for real, requiring the same
// refusal from both.
func applyBoth(t *testing.T, dir, text string, opt Options, code, says string) {
	t.Helper()
	root, err := os.OpenRoot(dir)
	require.NoError(t, err)
	defer root.Close()
	for _, dry := range []bool{true, false} {
		opt.DryRun = dry
		rep, err := Apply(context.Background(), root, text, opt)
		require.Error(t, err, "dry run %v", dry)
		assert.Equal(t, code, factory.ErrorCode(err), "%v", err)
		assert.Contains(t, err.Error(), says)
		assert.False(t, rep.Applied)
	}
}

// attack: a 4 MB patch of binary literals that inflate to 120 MB each -> EINVALID naming the per-file limit, nothing inflated or written
func TestAttackBinaryLiteralBomb(t *testing.T) {
	w := newAdvWorkspace(t)
	const size = 120 << 20
	one := binaryFileSection(t, "bomb.bin", "new file mode 100644\nindex 0000000..1111111\n", gitdiff.BinaryPatchLiteral, make([]byte, size), size)
	var p strings.Builder
	for i := 0; i < 6; i++ {
		p.WriteString(strings.ReplaceAll(one, "bomb.bin", fmt.Sprintf("bomb%d.bin", i)))
	}
	before := attacktest.Take(t, w.dir, w.outside)
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	allocated := ms.TotalAlloc
	applyBoth(t, w.dir, p.String(), Options{}, factory.EINVALID, "limit on one file a patch writes")
	runtime.ReadMemStats(&ms)
	assert.Less(t, ms.TotalAlloc-allocated, uint64(64<<20), "refusing must not inflate the literals")
	attacktest.Unchanged(t, before, w.dir, w.outside)
}

// attack: a tiny binary delta whose copy instructions expand the 4 KB bin.bin to 1 GiB -> EINVALID from the size its header declares, before applying
func TestAttackBinaryDeltaBomb(t *testing.T) {
	w := newAdvWorkspace(t)
	const ops = 1 << 18 // 1 GiB of copies
	declared := binaryFileSection(t, "bin.bin", "", gitdiff.BinaryPatchDelta, copyDelta(ops, ops*4096), int64(len(copyDelta(ops, ops*4096))))
	lying := binaryFileSection(t, "bin.bin", "", gitdiff.BinaryPatchDelta, copyDelta(ops, 8192), int64(len(copyDelta(ops, 8192))))
	before := attacktest.Take(t, w.dir, w.outside)
	applyBoth(t, w.dir, declared, Options{}, factory.EINVALID, "limit on one file a patch writes")
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	allocated := ms.TotalAlloc
	applyBoth(t, w.dir, lying, Options{}, factory.EINVALID, "corrupt")
	runtime.ReadMemStats(&ms)
	assert.Less(t, ms.TotalAlloc-allocated, uint64(64<<20), "a delta lying about its size must stop at the size it declared")
	attacktest.Unchanged(t, before, w.dir, w.outside)
}

// attack: copy headers that duplicate a 1 MB file 100 times (100 MB written from a 5 KB patch) -> EINVALID naming the per-patch limit and how to raise it
func TestAttackCopyBomb(t *testing.T) {
	w := newAdvWorkspace(t)
	big := strings.Repeat("0123456789abcdef\n", 1<<16) // about 1.1 MB
	require.NoError(t, os.WriteFile(filepath.Join(w.dir, "big.txt"), []byte(big), 0o644))
	gittest.Run(t, w.dir, "add", "big.txt")
	gittest.Run(t, w.dir, "commit", "-qm", "big")
	var p strings.Builder
	for i := 0; i < 100; i++ {
		fmt.Fprintf(&p, "diff --git a/big.txt b/copy%d.txt\nsimilarity index 100%%\ncopy from big.txt\ncopy to copy%d.txt\n", i, i)
	}
	before := attacktest.Take(t, w.dir, w.outside)
	applyBoth(t, w.dir, p.String(), Options{}, factory.EINVALID, "patch.max_write")
	// The same patch under a raised limit applies: the limit is the only
	// reason for the refusal.
	root, err := os.OpenRoot(w.dir)
	require.NoError(t, err)
	defer root.Close()
	_, err = Apply(context.Background(), root, p.String(), Options{DryRun: true, MaxWriteBytes: 200 << 20})
	require.NoError(t, err)
	attacktest.Unchanged(t, before, w.dir, w.outside)
}

// attack: a fuzz so large that a hunk's context is dropped entirely and it lands wherever its removed lines happen to be (or anywhere) -> EINVALID naming the range, for a dry run and a real apply alike, nothing written
func TestAttackFuzzBeyondLimit(t *testing.T) {
	w := newAdvWorkspace(t)
	// Context that matches nowhere in f.txt: only a fuzz that drops all of
	// it would place the hunk.
	text := "--- a/f.txt\n+++ b/f.txt\n@@ -1,4 +1,4 @@\n not here\n not here\n-line 3\n+LINE 3\n not here\n"
	before := attacktest.Take(t, w.dir, w.outside)
	for _, fuzz := range []int{-1, MaxFuzz + 1, 1 << 20} {
		applyBoth(t, w.dir, text, Options{Fuzz: fuzz}, factory.EINVALID, fmt.Sprintf("use 0 to %d", MaxFuzz))
	}
	attacktest.Unchanged(t, before, w.dir, w.outside)
}
