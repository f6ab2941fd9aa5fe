// Package gates runs one gate of factory.yaml on one tree, through a
// sandboxed Runner, and returns its facts: suites (with the census of the
// tests they declare), commands, Go imports, patterns, coverage and paired
// benchmarks. The JS/TS and Python import gates read the tree's files in
// process instead (esbuild's parser and resolver; a Python tokenizer), so
// they refuse symlinks out of the tree.
package gates

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/factory-dev/factory"
	"github.com/factory-dev/factory/invariants/rules"
)

// Tree is everything a gate needs to run on one tree.
type Tree struct {
	runner   Runner
	dir      string // the isolated copy
	snapshot string
	cfg      *rules.Config
	diff     *DiffFacts // the change against the base; nil when there is none
}

// NewTree is the tree at dir (an isolated copy of snapshot) whose gates
// cfg declares, run through runner; diff is the change against the base,
// nil when there is none.
func NewTree(runner Runner, dir, snapshot string, cfg *rules.Config, diff *DiffFacts) Tree {
	return Tree{runner: runner, dir: dir, snapshot: snapshot, cfg: cfg, diff: diff}
}

const maxMatches = 50

// Run runs one gate. Failures to produce facts become Outcome.Err.
func (r Tree) Run(ctx context.Context, g rules.Gate) Outcome {
	var (
		facts any
		err   error
	)
	switch g.Kind {
	case rules.GateSuite:
		facts, err = r.suite(ctx, g)
	case rules.GateCommand:
		facts, err = r.command(ctx, g)
	case rules.GateGoImports:
		facts, err = r.imports(ctx, g)
	case rules.GateJSImports:
		facts, err = r.jsImports(ctx, g)
	case rules.GatePyImports:
		facts, err = r.pyImports(ctx, g)
	case rules.GatePattern:
		facts, err = r.pattern(ctx, g)
	case rules.GateCoverage:
		facts, err = r.coverage(ctx, g)
	case rules.GateBench:
		facts, err = r.bench(ctx, g)
	default:
		err = fmt.Errorf("unknown gate kind %q", g.Kind)
	}
	if err != nil {
		return Outcome{Err: factory.ErrorMessage(err)}
	}
	return Outcome{Facts: facts}
}

func (r Tree) exec(ctx context.Context, g rules.Gate, argv []string) (CommandResult, error) {
	return r.runner.RunCommand(ctx, Command{Argv: argv, Dir: r.dir, Root: r.dir, Env: g.Env, Timeout: g.Timeout, Policy: r.cfg.Sandbox})
}

// treePath reads a path p printed by a command that ran in dir (the tree's
// root on the host) and saw that directory as res.Dir (see
// CommandResult.Dir): it returns p relative to the tree, slash-separated,
// and p's path on the host. ok is false when p is not inside the tree; host
// is then p itself (a path outside the tree, such as GOROOT or the module
// cache, is the same for the command and the host).
func treePath(dir string, res CommandResult, p string) (rel, host string, ok bool) {
	if !filepath.IsAbs(p) {
		if p = filepath.Clean(p); p == "." || filepath.IsLocal(p) {
			return filepath.ToSlash(p), filepath.Join(dir, p), true
		}
		return "", p, false
	}
	seen := res.Dir
	if seen == "" {
		seen = dir
	}
	bases := []string{seen}
	if d, err := filepath.EvalSymlinks(seen); err == nil && d != seen {
		bases = append(bases, d)
	}
	paths := []string{p}
	if seen == dir {
		// the command saw the host's own tree, so resolving p's symlinks on
		// the host is resolving them as the command did
		if q, err := filepath.EvalSymlinks(p); err == nil && q != p {
			paths = append(paths, q)
		}
	}
	for _, b := range bases {
		for _, q := range paths {
			r, err := filepath.Rel(b, q)
			if err == nil && (r == "." || filepath.IsLocal(r)) {
				return filepath.ToSlash(r), filepath.Join(dir, r), true
			}
		}
	}
	return "", p, false
}

// excerpt keeps the first head and last tail lines of out.
func excerpt(out []byte, head, tail int) string {
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	if len(lines) <= head+tail {
		return strings.Join(lines, "\n")
	}
	omitted := len(lines) - head - tail
	return strings.Join(lines[:head], "\n") + fmt.Sprintf("\n... %d lines omitted ...\n", omitted) + strings.Join(lines[len(lines)-tail:], "\n")
}

// PackagesOr is the gate's package patterns, ./... when it names none.
func PackagesOr(p []string) []string {
	if len(p) == 0 {
		return []string{"./..."}
	}
	return p
}

// safePatterns rejects package patterns that git or go would read as flags.
func safePatterns(ps []string) error {
	for _, p := range ps {
		if strings.HasPrefix(p, "-") {
			return factory.Errorf(factory.EINVALID, "package pattern %q starts with -", p)
		}
	}
	return nil
}
