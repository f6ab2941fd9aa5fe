//go:build linux

package patch

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
)

// reuseWorkspace is one directory of 40 files, one in three 0600 and one
// in three 0755 (so most reused files change mode), and a patch editing
// every one, whose sizes differ.
func reuseWorkspace(t *testing.T) (dir, text string) {
	dir = t.TempDir()
	modes := []fs.FileMode{0o644, 0o600, 0o755}
	for i := 0; i < 40; i++ {
		name := fmt.Sprintf("f%02d.txt", i)
		body := fmt.Sprintf("line 1\nline %d%s\n", i, strings.Repeat("z", i%5))
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644))
		require.NoError(t, os.Chmod(filepath.Join(dir, name), modes[i%3]))
		text += fmt.Sprintf("--- a/%s\n+++ b/%s\n@@ -1,2 +1,2 @@\n line 1\n-line %d%s\n+%s\n", name, name, i, strings.Repeat("z", i%5), newLine(i))
	}
	return dir, text
}

// newLine is the second line the patch gives file i: shorter or longer
// than the old content of the file whose old file it may be written into.
func newLine(i int) string { return "x" + strings.Repeat("y", i*3%20) }

// TestReusedFilesKeepModeAndContent applies a patch whose writes are
// staged in the old files of other writes, and requires each file to end
// with exactly its new content and its own mode. The directory holds all
// the writes, so it is split into 5 groups of 8 (see chains).
func TestReusedFilesKeepModeAndContent(t *testing.T) {
	dir, text := reuseWorkspace(t)
	modes := map[string]fs.FileMode{}
	for i := 0; i < 40; i++ {
		info, err := os.Stat(filepath.Join(dir, fmt.Sprintf("f%02d.txt", i)))
		require.NoError(t, err)
		modes[info.Name()] = info.Mode()
	}
	var reused atomic.Int32
	root, err := os.OpenRoot(dir)
	require.NoError(t, err)
	_, err = Apply(context.Background(), root, text, Options{beforeReuse: func(string, string) { reused.Add(1) }})
	root.Close()
	require.NoError(t, err)
	require.Positive(t, reused.Load())
	for name, mode := range modes {
		info, err := os.Stat(filepath.Join(dir, name))
		require.NoError(t, err)
		require.Equal(t, mode, info.Mode(), name)
		data, err := os.ReadFile(filepath.Join(dir, name))
		require.NoError(t, err)
		var i int
		_, err = fmt.Sscanf(name, "f%02d.txt", &i)
		require.NoError(t, err)
		require.Equal(t, "line 1\n"+newLine(i)+"\n", string(data), name)
	}
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, 40, "a staged file was left behind")
}

// TestRollbackOfReusedFiles fails the 30th swap of one directory, after
// earlier files' old files were rewritten for later writes, and requires
// every file back: content, mode and modification time.
func TestRollbackOfReusedFiles(t *testing.T) {
	dir, text := reuseWorkspace(t)
	before := filesFingerprint(t, dir)
	root, err := os.OpenRoot(dir)
	require.NoError(t, err)
	defer root.Close()
	var swaps, reused atomic.Int32
	_, err = Apply(context.Background(), root, text, Options{
		beforeReuse: func(string, string) { reused.Add(1) },
		beforeSwap: func(p string) error {
			if swaps.Add(1) == 30 {
				return errors.New("disk full")
			}
			return nil
		},
	})
	require.ErrorContains(t, err, "disk full")
	require.ErrorContains(t, err, "every file was restored")
	require.Positive(t, reused.Load())
	require.Equal(t, before, filesFingerprint(t, dir))
}

// sized is a file's lstat as byFit reads it: its size only.
type sized struct {
	fs.FileInfo
	n int64
}

func (s sized) Size() int64 { return s.n }

// byFit cuts no old file for a patch that grows every file, and one where
// size order cuts all but the first for a patch that shrinks every file
// by more than the gap between two sizes; every write is kept, once.
func TestByFitAvoidsTruncation(t *testing.T) {
	cuts := func(c []*node) int {
		k := 0
		for i := 1; i < len(c); i++ {
			if c[i-1].origInfo.Size() > int64(len(c[i].data)) {
				k++
			}
		}
		return k
	}
	for _, delta := range []int{9, -15} {
		var c []*node
		for i := 0; i < 50; i++ {
			size := 3000 + 10*i
			c = append(c, &node{path: fmt.Sprint(i), data: make([]byte, size), origExists: true, origInfo: sized{n: int64(size - delta)}})
		}
		out := byFit(slices.Clone(c))
		require.ElementsMatch(t, c, out)
		if delta > 0 {
			require.Zero(t, cuts(out))
		} else {
			require.Equal(t, 49, cuts(c), "size order")
			require.LessOrEqual(t, cuts(out), 1)
		}
	}
}

// attack: after a write staged in a reused file was swapped in, another program rewrites that file in place with content of the same size, and a later write of the patch fails -> the rollback finds the file is not what the patch wrote (its content, not its times, decides) and leaves the other program's content, saying so; every other file is put back
func TestAttackRewriteOfAReusedFileSurvivesTheRollback(t *testing.T) {
	dir, text := reuseWorkspace(t)
	// Eight files of one directory are one chain, swapped in turn.
	lines := strings.SplitAfter(text, "\n")
	text = strings.Join(lines[:8*6], "")
	root, err := os.OpenRoot(dir)
	require.NoError(t, err)
	defer root.Close()
	var reused []string
	swaps := 0
	_, err = Apply(context.Background(), root, text, Options{
		beforeReuse: func(p, _ string) { reused = append(reused, p) },
		beforeSwap: func(p string) error {
			if swaps++; swaps != 6 {
				return nil
			}
			// The first write staged in a reused file was swapped in at
			// the second swap.
			f := filepath.Join(dir, reused[0])
			data, err := os.ReadFile(f)
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(f, bytes.Repeat([]byte("w"), len(data)), 0))
			return errors.New("disk full")
		},
	})
	require.ErrorContains(t, err, "disk full")
	require.ErrorContains(t, err, reused[0]+" changed on disk after the patch wrote it, so it was left as it is")
	data, err := os.ReadFile(filepath.Join(dir, reused[0]))
	require.NoError(t, err)
	require.Equal(t, strings.Repeat("w", len(data)), string(data))
	require.Len(t, reused, 5, "the writes before the failure were not staged in reused files")
}
