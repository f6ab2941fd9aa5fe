//go:build linux

package proc

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/factory-dev/factory"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// treeState lists every entry under dir with its mode, size, mtime and
// content hash, so any change to the tree shows as a difference.
func treeState(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		st, err := os.Lstat(p)
		if err != nil {
			return err
		}
		line := fmt.Sprintf("%s %v %d %d", strings.TrimPrefix(p, dir), st.Mode(), st.Size(), st.ModTime().UnixNano())
		if st.Mode().IsRegular() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			sum := sha256.Sum256(b)
			line += " " + hex.EncodeToString(sum[:])
		}
		out = append(out, line)
		return nil
	})
	require.NoError(t, err)
	return out
}

// mountPair makes a copy (src) and a live tree (dst) with different
// contents; the live tree under /tmp or outside it (where only the
// read-only root mount, not the private /tmp, would otherwise show it).
func mountPair(t *testing.T, dstOutsideTmp bool) (src, dst string) {
	t.Helper()
	src = t.TempDir()
	dst = t.TempDir()
	if dstOutsideTmp {
		d, err := os.MkdirTemp(".", ".live-")
		require.NoError(t, err)
		dst, err = filepath.Abs(d)
		require.NoError(t, err)
		t.Cleanup(func() { os.RemoveAll(dst) })
	}
	for _, d := range []string{src, dst} {
		require.NoError(t, os.MkdirAll(filepath.Join(d, "sub"), 0o755))
	}
	require.NoError(t, os.WriteFile(filepath.Join(dst, "live.txt"), []byte("live\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dst, "sub", "shared"), []byte("live version\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(src, "copy.txt"), []byte("copy\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(src, "sub", "shared"), []byte("copy version\n"), 0o644))
	// The program lives in the copy and is named by its host path: Run
	// must translate it too.
	script := `#!/bin/sh
echo "pwd=$(pwd -P)"
cat shared
test -e ../live.txt && echo LIVE-VISIBLE
test -e ../copy.txt && echo copy-visible
echo new > new.txt
echo changed > shared
mkdir made
rm ../copy.txt
echo leak > "$1/sub/leak.txt" 2>/dev/null
echo done
`
	require.NoError(t, os.WriteFile(filepath.Join(src, "sub", "run.sh"), []byte(script), 0o755))
	return src, dst
}

// TestMountAsShowsCopyAtLivePath runs a command with the copy mounted at
// the live tree's path: it works there, its writes land in the copy, and
// the live tree is neither visible nor changed.
func TestMountAsShowsCopyAtLivePath(t *testing.T) {
	eachIsolation(t, func(t *testing.T, iso string) {
		for _, outside := range []bool{false, true} {
			t.Run(fmt.Sprintf("dst-outside-tmp=%v", outside), func(t *testing.T) {
				src, dst := mountPair(t, outside)
				before := treeState(t, dst)
				c := Cmd{
					Argv: []string{filepath.Join(src, "sub", "run.sh"), src},
					Dir:  filepath.Join(src, "sub"),
					Confine: &Confinement{Policy: factory.SandboxPolicy{Isolation: iso},
						Writable: []string{src}, MountAs: Mount{Src: src, Dst: dst}},
				}
				res, err := Run(context.Background(), c)
				require.NoError(t, err)
				require.Equal(t, 0, res.ExitCode, "stdout %s stderr %s", res.Stdout, res.Stderr)
				assert.Equal(t, iso, res.Isolation)
				assert.Equal(t, filepath.Join(dst, "sub"), res.Dir)
				assert.Equal(t, "pwd="+filepath.Join(dst, "sub")+"\ncopy version\ncopy-visible\ndone\n", string(res.Stdout),
					"the command sees the copy, not the live tree, at the live path; stderr %s", res.Stderr)

				// Writes landed in the copy.
				b, err := os.ReadFile(filepath.Join(src, "sub", "new.txt"))
				require.NoError(t, err)
				assert.Equal(t, "new\n", string(b))
				b, err = os.ReadFile(filepath.Join(src, "sub", "shared"))
				require.NoError(t, err)
				assert.Equal(t, "changed\n", string(b))
				assert.DirExists(t, filepath.Join(src, "sub", "made"))
				assert.NoFileExists(t, filepath.Join(src, "copy.txt"))
				// The copy's own path was not writable from inside.
				assert.NoFileExists(t, filepath.Join(src, "sub", "leak.txt"))

				// The live tree is untouched: contents, modes and mtimes.
				assert.Equal(t, before, treeState(t, dst))
				assert.NoFileExists(t, filepath.Join(dst, "sub", "new.txt"))
			})
		}
	})
}

// TestMountAsLiveTreeNotWritable tries to write to the live tree through
// the host path the bind hides, by every route a shell has.
func TestMountAsLiveTreeNotWritable(t *testing.T) {
	eachIsolation(t, func(t *testing.T, iso string) {
		src, dst := mountPair(t, true)
		before := treeState(t, dst)
		script := `cd /; rm -f ` + dst + `/live.txt; ls ` + dst + `; cat ` + dst + `/sub/shared; echo x > ` + dst + `/sub/x; echo end`
		c := Cmd{Argv: sh(script), Dir: src,
			Confine: &Confinement{Policy: factory.SandboxPolicy{Isolation: iso}, MountAs: Mount{Src: src, Dst: dst}}}
		res, err := Run(context.Background(), c)
		require.NoError(t, err)
		assert.Equal(t, "copy.txt\nsub\ncopy version\nend\n", string(res.Stdout), "stderr %s", res.Stderr)
		assert.Equal(t, dst, res.Dir)
		assert.Equal(t, before, treeState(t, dst))
		assert.FileExists(t, filepath.Join(src, "sub", "x"), "a write to the live path lands in the copy")
	})
}

// TestMountAsWithoutIsolation: mode none cannot mount; the command runs in
// the copy's own path and a note says so.
func TestMountAsWithoutIsolation(t *testing.T) {
	src, dst := mountPair(t, false)
	before := treeState(t, dst)
	c := Cmd{Argv: sh(`pwd -P; echo x > made`), Dir: src,
		Confine: &Confinement{Policy: factory.SandboxPolicy{Isolation: IsoNone}, MountAs: Mount{Src: src, Dst: dst}}}
	res, err := Run(context.Background(), c)
	require.NoError(t, err)
	assert.Equal(t, IsoNone, res.Isolation)
	assert.Equal(t, src+"\n", string(res.Stdout))
	assert.Equal(t, src, res.Dir)
	assert.Contains(t, strings.Join(res.Notes, "\n"), "cannot be shown at "+dst)
	assert.FileExists(t, filepath.Join(src, "made"))
	assert.Equal(t, before, treeState(t, dst))
}

func TestMountAsInvalid(t *testing.T) {
	src, dst := mountPair(t, false)
	file := filepath.Join(src, "copy.txt")
	for _, tc := range []struct {
		name string
		m    Mount
		code string
	}{
		{"relative src", Mount{Src: "copy", Dst: dst}, factory.EINVALID},
		{"relative dst", Mount{Src: src, Dst: "live"}, factory.EINVALID},
		{"only src", Mount{Src: src}, factory.EINVALID},
		{"missing src", Mount{Src: filepath.Join(src, "nope"), Dst: dst}, factory.ENOTFOUND},
		{"missing dst", Mount{Src: src, Dst: filepath.Join(dst, "nope")}, factory.ENOTFOUND},
		{"file src", Mount{Src: file, Dst: dst}, factory.EINVALID},
		{"root dst", Mount{Src: src, Dst: "/"}, factory.EINVALID},
		{"dst inside src", Mount{Src: src, Dst: filepath.Join(src, "sub")}, factory.EINVALID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Cmd{Argv: []string{"true"}, Dir: src,
				Confine: &Confinement{Policy: factory.SandboxPolicy{Isolation: IsoNone}, MountAs: tc.m}}
			_, err := Run(context.Background(), c)
			require.Error(t, err)
			assert.Equal(t, tc.code, factory.ErrorCode(err), "%v", err)
		})
	}
}

func TestMountInside(t *testing.T) {
	m := Mount{Src: "/tmp/copy", Dst: "/work/live"}
	assert.Equal(t, "/work/live", m.inside("/tmp/copy"))
	assert.Equal(t, "/work/live/a/b", m.inside("/tmp/copy/a/b"))
	assert.Equal(t, "/tmp/copyx", m.inside("/tmp/copyx"), "a sibling sharing the prefix is not under Src")
	assert.Equal(t, "/etc", m.inside("/etc"))
	assert.Equal(t, "/tmp/copy/a", Mount{}.inside("/tmp/copy/a"))
}
