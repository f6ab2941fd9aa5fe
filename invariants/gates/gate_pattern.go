package gates

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"regexp"
	"strings"

	"github.com/factory-dev/factory"
	"github.com/factory-dev/factory/invariants/rules"
)

// maxScanFile is the largest file a files-scope pattern gate reads; larger
// files are skipped, as are binary ones.
const maxScanFile = 1 << 20

// pattern counts the lines matching the gate's regex: the added lines of
// the change (scope diff, the default) or every line of the tree's files
// (scope files), keeping the first maxMatches as evidence.
func (r Tree) pattern(ctx context.Context, g rules.Gate) (any, error) {
	re, err := regexp.Compile(g.Regex)
	if err != nil {
		return nil, factory.Errorf(factory.EINVALID, "regex %q: %v", g.Regex, err)
	}
	f := PatternFacts{Matches: []string{}}
	add := func(p string, line int, text string) {
		f.Count++
		if len(f.Matches) < maxMatches {
			f.Matches = append(f.Matches, fmt.Sprintf("%s:%d: %s", p, line, factory.Clip(strings.TrimSpace(text), 160)))
		}
	}
	if g.Scope != rules.ScopeFiles {
		if r.diff == nil {
			return f, nil
		}
		for _, l := range r.diff.lines {
			if rules.MatchAny(g.In, l.Path) && re.MatchString(l.Text) {
				add(l.Path, l.Line, l.Text)
			}
		}
		return f, nil
	}
	root, err := os.OpenRoot(r.dir)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	err = fs.WalkDir(root.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if d.IsDir() {
			if p == ".git" {
				return fs.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() || !rules.MatchAny(g.In, p) {
			return nil
		}
		b, err := fs.ReadFile(root.FS(), p)
		if err != nil || len(b) > maxScanFile || bytes.IndexByte(b, 0) >= 0 {
			return nil
		}
		if !re.Match(b) {
			return nil
		}
		sc := bufio.NewScanner(bytes.NewReader(b))
		sc.Buffer(make([]byte, 64<<10), maxScanFile)
		for n := 1; sc.Scan(); n++ {
			if re.Match(sc.Bytes()) {
				add(p, n, sc.Text())
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return f, nil
}
