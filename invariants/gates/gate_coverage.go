package gates

import (
	"bufio"
	"bytes"
	"context"
	"math"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/factory-dev/factory"
	"github.com/factory-dev/factory/invariants/rules"
)

// CoverFile is the profile the default coverage command writes in the tree.
const CoverFile = ".factory-cover.out"

// coverage runs go test -coverprofile (or the gate's own command writing
// its own profile) and reports the statement coverage, in total and per
// package.
func (r Tree) coverage(ctx context.Context, g rules.Gate) (any, error) {
	argv, profile := g.Run, g.Profile
	if argv == nil {
		pkgs := PackagesOr(g.Packages)
		if err := safePatterns(pkgs); err != nil {
			return nil, err
		}
		profile = CoverFile
		argv = append([]string{"go", "test", "-count=1", "-coverprofile=" + CoverFile}, pkgs...)
	}
	res, err := r.exec(ctx, g, argv)
	if err != nil {
		return nil, err
	}
	root, err := os.OpenRoot(r.dir)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	data, err := root.ReadFile(filepath.FromSlash(profile))
	if err != nil {
		return nil, factory.Errorf(factory.EINVALID, "no cover profile %s after the command (exit code %d): %s", profile, res.ExitCode, excerpt(append(res.Stdout, res.Stderr...), 3, 8))
	}
	f, err := parseCoverProfile(data)
	if err != nil {
		return nil, err
	}
	f.ExitCode = res.ExitCode
	return f, nil
}

// parseCoverProfile reads a Go cover profile ("mode: set" then
// "file:l.c,l.c stmts count" lines). A block listed twice (several test
// binaries) counts once, covered if any listing covered it.
func parseCoverProfile(data []byte) (CoverageFacts, error) {
	type block struct {
		stmts   int
		covered bool
	}
	blocks := map[string]*block{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if n == 1 && strings.HasPrefix(line, "mode:") || line == "" {
			continue
		}
		sp := strings.LastIndexByte(line, ' ')
		sp2 := strings.LastIndexByte(line[:max(sp, 0)], ' ')
		if sp < 0 || sp2 < 0 {
			return CoverageFacts{}, factory.Errorf(factory.EINVALID, "cover profile line %d: expected \"file:pos stmts count\", got %q", n, factory.Clip(line, 80))
		}
		stmts, err1 := strconv.Atoi(line[sp2+1 : sp])
		count, err2 := strconv.ParseInt(line[sp+1:], 10, 64)
		if err1 != nil || err2 != nil || !strings.Contains(line[:sp2], ":") {
			return CoverageFacts{}, factory.Errorf(factory.EINVALID, "cover profile line %d: expected \"file:pos stmts count\", got %q", n, factory.Clip(line, 80))
		}
		key := line[:sp2]
		b := blocks[key]
		if b == nil {
			b = &block{stmts: stmts}
			blocks[key] = b
		}
		b.covered = b.covered || count > 0
	}
	type acc struct{ total, covered int }
	per := map[string]*acc{}
	var all acc
	for key, b := range blocks {
		file := key[:strings.LastIndexByte(key, ':')]
		pkg := path.Dir(file)
		a := per[pkg]
		if a == nil {
			a = &acc{}
			per[pkg] = a
		}
		a.total += b.stmts
		all.total += b.stmts
		if b.covered {
			a.covered += b.stmts
			all.covered += b.stmts
		}
	}
	pct := func(a acc) float64 {
		if a.total == 0 {
			return 0
		}
		return math.Round(1000*float64(a.covered)/float64(a.total)) / 10
	}
	f := CoverageFacts{Total: pct(all), Statements: all.total, Packages: map[string]float64{}}
	for k, a := range per {
		f.Packages[k] = pct(*a)
	}
	return f, nil
}
