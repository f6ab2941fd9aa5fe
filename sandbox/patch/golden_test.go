package patch

import (
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/factory-dev/factory"
	"github.com/factory-dev/factory/internal/gittest"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite testdata/golden/*.out from the current behaviour")

// TestGolden applies each testdata/golden/NAME.patch to the tree of
// NAME.src and compares the report and resulting tree (or the error) with
// NAME.out. Directives in NAME.src's preamble: "fuzz: N", "dry-run", and
// "git: ARGS" to also run `git apply ARGS` on a copy and require the same
// tree (or "git: refuses" to require that git refuses it too).
func TestGolden(t *testing.T) {
	srcs, err := filepath.Glob("testdata/golden/*.src")
	require.NoError(t, err)
	require.NotEmpty(t, srcs)
	for _, src := range srcs {
		name := strings.TrimSuffix(filepath.Base(src), ".src")
		t.Run(name, func(t *testing.T) {
			srcText, err := os.ReadFile(src)
			require.NoError(t, err)
			patchText, err := os.ReadFile(strings.TrimSuffix(src, ".src") + ".patch")
			require.NoError(t, err)
			a := parseArchive(t, string(srcText))
			opt := Options{}
			if v, ok := a.directive("fuzz"); ok {
				opt.Fuzz, _ = strconv.Atoi(v)
			}
			_, opt.DryRun = a.directive("dry-run")

			dir := t.TempDir()
			materialize(t, dir, a)
			before := fingerprint(t, dir)
			beforeTree := dumpTree(t, dir)
			root, err := os.OpenRoot(dir)
			require.NoError(t, err)
			defer root.Close()
			rep, err := Apply(context.Background(), root, string(patchText), opt)

			var out strings.Builder
			js, _ := json.MarshalIndent(rep, "", "  ")
			out.WriteString("-- report --\n" + string(js) + "\n")
			if err != nil {
				require.False(t, rep.Applied)
				out.WriteString("-- error --\n" + factory.ErrorCode(err) + ": " + err.Error() + "\n")
				require.Equal(t, before, fingerprint(t, dir), "a refused patch changed the tree")
			} else {
				require.True(t, rep.Applied)
				if opt.DryRun {
					require.Equal(t, before, fingerprint(t, dir), "a dry run changed the tree")
				}
				out.WriteString("-- tree --\n" + dumpTree(t, dir))
			}

			if gitArgs, ok := a.directive("git"); ok {
				gdir := t.TempDir()
				materialize(t, gdir, a)
				gittest.Run(t, gdir, "init", "-q")
				pf := filepath.Join(t.TempDir(), "p.diff")
				require.NoError(t, os.WriteFile(pf, patchText, 0o644))
				args := append([]string{"apply"}, strings.Fields(strings.TrimPrefix(gitArgs, "refuses"))...)
				gout, gerr := gittest.Cmd(gdir, "", append(args, pf)...)
				if strings.HasPrefix(gitArgs, "refuses") {
					require.Error(t, gerr, "git apply accepted it: %s", gout)
					require.Equal(t, beforeTree, dumpTree(t, gdir))
				} else {
					require.NoError(t, gerr, "git apply: %s", gout)
					require.NoError(t, err, "git applies this patch but factory refused it")
					require.Equal(t, dumpTree(t, gdir), dumpTree(t, dir), "factory and git apply disagree")
				}
			}

			outPath := strings.TrimSuffix(src, ".src") + ".out"
			if *update {
				require.NoError(t, os.WriteFile(outPath, []byte(out.String()), 0o644))
				return
			}
			want, err := os.ReadFile(outPath)
			require.NoError(t, err, "run go test -update to create %s", outPath)
			require.Equal(t, string(want), out.String())
		})
	}
}
