package gates

import (
	"context"
	"encoding/json"
	"fmt"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/evanw/esbuild/pkg/api"
	"github.com/factory-dev/factory"
	"github.com/factory-dev/factory/invariants/rules"
)

// jsExts are the files the js-imports gate reads.
var jsExts = map[string]bool{".js": true, ".jsx": true, ".ts": true, ".tsx": true, ".mjs": true, ".cjs": true, ".mts": true, ".cts": true}

// jsResolveMark tells the gate's own resolve calls apart from esbuild's,
// so the plugin lets esbuild's resolver answer them.
const jsResolveMark = "factory-js-imports-inner"

// jsWarnPrefix starts the warnings the plugin emits for every import:
// esbuild gives a plugin's location-less message the position of the
// import that triggered it, which is the one way its API tells lines.
const jsWarnPrefix = "factory-import\x00"

// jsImports reads every JavaScript and TypeScript file of the tree with
// esbuild (the parser and resolver of a real bundler: ES imports and
// re-exports, dynamic import(), require, tsconfig paths and baseUrl with
// extends, extensions, index files, symlinks) and returns the file graph.
// Every file is an entry point and every import external, so nothing is
// bundled or written; a plugin resolves each import itself to record where
// it lands. Imports TypeScript elides (type-only, unused) are not edges:
// they do not exist at run time. A file that does not parse is a gate
// error naming file:line.
func (r Tree) jsImports(ctx context.Context, g rules.Gate) (any, error) {
	t, err := scanSources(r.dir, jsExts, g.In)
	if err != nil {
		return nil, err
	}
	f := ImportsFacts{Packages: t.files, Edges: []ImportEdge{}}
	if len(t.files) == 0 {
		return f, nil
	}
	rec := &jsRecorder{tree: t, seen: map[string]string{}, byDir: map[string]string{}}
	// each output named by its index: a.ts and a.js, or c.mts and c.mjs,
	// would otherwise both write a.js, which esbuild refuses
	entries := make([]api.EntryPoint, len(t.files))
	for i, p := range t.files {
		entries[i] = api.EntryPoint{InputPath: filepath.Join(t.root, filepath.FromSlash(p)), OutputPath: strconv.Itoa(i)}
	}
	res, err := jsBuild(ctx, g, api.BuildOptions{
		EntryPointsAdvanced: entries, AbsWorkingDir: t.root, Outdir: filepath.Join(t.root, ".factory-js-imports"),
		Bundle: true, Write: false, Metafile: true, Platform: api.PlatformNode, Format: api.FormatESModule,
		LogLevel: api.LogLevelSilent, Plugins: []api.Plugin{rec.plugin()},
		// React projects write JSX in .js files; plain JavaScript parses the same
		Loader: map[string]api.Loader{".js": api.LoaderJSX},
		// a computed require or import() is only a debug note by default
		LogOverride: map[string]api.LogLevel{"unsupported-require-call": api.LogLevelWarning, "unsupported-dynamic-import": api.LogLevelWarning, "indirect-require": api.LogLevelWarning, "direct-eval": api.LogLevelWarning},
	})
	if err != nil {
		return nil, err
	}
	if msgs := jsErrors(t, res.Errors); len(msgs) > 0 {
		return nil, factory.Errorf(factory.EINVALID, "js-imports could not read %d file(s); fix them or leave them out with paths:\n%s", len(msgs), strings.Join(Limit(msgs, 20), "\n"))
	}
	f.Edges = append(f.Edges, rec.edges(res.Warnings)...)
	f.Edges = append(f.Edges, jsGlobEdges(t, res.Metafile)...)
	f.Edges = sortEdges(f.Edges)
	return f, nil
}

// jsBuild runs one build, cancelled when ctx ends or the gate's timeout
// (10 minutes by default) passes.
func jsBuild(ctx context.Context, g rules.Gate, opts api.BuildOptions) (api.BuildResult, error) {
	ctx, cancel := context.WithTimeout(ctx, timeoutOr(g.Timeout))
	defer cancel()
	bc, cerr := api.Context(opts)
	if cerr != nil {
		return api.BuildResult{}, factory.Errorf(factory.EINVALID, "js-imports: %v", cerr)
	}
	defer bc.Dispose()
	stop := context.AfterFunc(ctx, bc.Cancel)
	defer stop()
	res := bc.Rebuild()
	if err := ctx.Err(); err != nil {
		return api.BuildResult{}, factory.Errorf(factory.ETIMEOUT, "js-imports did not finish within %s; raise the gate's timeout or narrow its paths", timeoutOr(g.Timeout))
	}
	return res, nil
}

// timeoutOr is a gate's timeout, 10 minutes when it sets none.
func timeoutOr(d time.Duration) time.Duration {
	if d <= 0 {
		return 10 * time.Minute
	}
	return d
}

// jsErrors are esbuild's errors as "file:line: message". A message about a
// file outside the tree (a tsconfig extends pointing out) is named without
// its text, which could quote that file.
func jsErrors(t sourceTree, errs []api.Message) []string {
	var out []string
	for _, m := range errs {
		if strings.HasPrefix(m.Text, "Could not resolve") {
			continue // a glob import that matched no file: listed as unresolved
		}
		if m.Location == nil {
			out = append(out, m.Text)
			continue
		}
		file := filepath.ToSlash(m.Location.File)
		if !filepath.IsLocal(m.Location.File) {
			out = append(out, fmt.Sprintf("%s: a file outside the tree did not parse", file))
			continue
		}
		out = append(out, fmt.Sprintf("%s:%d: %s", file, m.Location.Line, m.Text))
	}
	return out
}

// jsRecorder is the plugin's state: where each import resolved.
type jsRecorder struct {
	tree  sourceTree
	mu    sync.Mutex
	seen  map[string]string // "importer\x00path" -> target
	byDir map[string]string // "resolveDir\x00path\x00kind" -> target: esbuild's plugin Resolve is slow (it reads directories afresh)
}

func jsKey(importer, spec string) string { return importer + "\x00" + spec }

func (rec *jsRecorder) plugin() api.Plugin {
	return api.Plugin{Name: "factory-js-imports", Setup: func(b api.PluginBuild) {
		b.OnResolve(api.OnResolveOptions{Filter: ".*"}, func(a api.OnResolveArgs) (api.OnResolveResult, error) {
			if a.PluginData == jsResolveMark || a.Kind == api.ResolveEntryPoint {
				return api.OnResolveResult{}, nil
			}
			// the answer depends on the directory (tsconfig, node_modules)
			// and the kind (package.json conditions), not on the file
			dirKey := fmt.Sprintf("%s\x00%s\x00%d", a.ResolveDir, a.Path, a.Kind)
			rec.mu.Lock()
			to, ok := rec.byDir[dirKey]
			rec.mu.Unlock()
			if !ok {
				res := b.Resolve(a.Path, api.ResolveOptions{Importer: a.Importer, ResolveDir: a.ResolveDir, Kind: a.Kind, PluginData: jsResolveMark})
				to = rec.target(a.Path, a.ResolveDir, res)
			}
			importer := rec.rel(a.Importer)
			rec.mu.Lock()
			rec.byDir[dirKey] = to
			rec.seen[jsKey(importer, a.Path)] = to
			rec.mu.Unlock()
			return api.OnResolveResult{Path: a.Path, External: true, Warnings: []api.Message{{Text: jsWarnPrefix + a.Path}}}, nil
		})
	}}
}

// rel is an absolute path of the tree as a root-relative slash path, or
// the path itself when it is outside.
func (rec *jsRecorder) rel(abs string) string {
	if r, ok := rec.tree.inside(abs); ok {
		return r
	}
	return filepath.ToSlash(abs)
}

// target names where an import lands: a file of the tree, or the package
// for a bare specifier that did not resolve into the tree (not installed,
// in node_modules, or a Node builtin).
func (rec *jsRecorder) target(spec, resolveDir string, res api.ResolveResult) string {
	relative := strings.HasPrefix(spec, ".") || strings.HasPrefix(spec, "/")
	if len(res.Errors) == 0 && res.Path != "" && !res.External && filepath.IsAbs(res.Path) {
		if r, ok := rec.tree.inside(res.Path); ok && !strings.Contains("/"+r+"/", "/node_modules/") {
			return r
		}
	}
	if !relative {
		return jsPackage(spec)
	}
	// a relative import that did not resolve: where it points, unresolved
	// extensions and all, so a glob over the directory still matches it
	want := spec
	if !filepath.IsAbs(spec) {
		want = filepath.Join(resolveDir, spec)
	}
	if r, err := filepath.Rel(rec.tree.root, want); err == nil && filepath.IsLocal(r) {
		return filepath.ToSlash(r)
	}
	return spec
}

// jsPackage is the package a bare specifier names: "@scope/pkg/x" ->
// "@scope/pkg", "lodash/fp" -> "lodash", "node:fs" -> "node:fs".
func jsPackage(spec string) string {
	parts := strings.SplitN(spec, "/", 3)
	if strings.HasPrefix(spec, "@") && len(parts) >= 2 {
		return parts[0] + "/" + parts[1]
	}
	return parts[0]
}

// edges turns the plugin's warnings (one per import, at its position) and
// esbuild's notes on computed requires into edges.
func (rec *jsRecorder) edges(warnings []api.Message) []ImportEdge {
	var out []ImportEdge
	for _, w := range warnings {
		if w.Location == nil {
			continue
		}
		from := filepath.ToSlash(w.Location.File)
		pos := fmt.Sprintf("%s:%d", from, w.Location.Line)
		switch {
		case strings.HasPrefix(w.Text, jsWarnPrefix):
			spec := strings.TrimPrefix(w.Text, jsWarnPrefix)
			rec.mu.Lock()
			to, ok := rec.seen[jsKey(from, spec)]
			rec.mu.Unlock()
			if ok {
				out = append(out, ImportEdge{From: from, To: to, Pos: pos})
			}
		case w.ID == "unsupported-require-call" || w.ID == "indirect-require":
			out = append(out, ImportEdge{From: from, To: "require(<computed>)", Pos: pos, Unresolved: true})
		case w.ID == "unsupported-dynamic-import":
			out = append(out, ImportEdge{From: from, To: "import(<computed>)", Pos: pos, Unresolved: true})
		case w.ID == "direct-eval":
			out = append(out, ImportEdge{From: from, To: "eval(<code>)", Pos: pos, Unresolved: true})
		}
	}
	return out
}

// jsMetafile is the part of esbuild's metafile the gate reads.
type jsMetafile struct {
	Inputs map[string]struct {
		Imports []struct {
			Path string `json:"path"`
			Kind string `json:"kind"`
		} `json:"imports"`
	} `json:"inputs"`
}

// jsGlobEdges lists the template-literal imports (require(`./db/${x}`)),
// which esbuild turns into glob patterns without asking plugins: they are
// unresolved edges, at the first line that writes their fixed prefix.
func jsGlobEdges(t sourceTree, metafile string) []ImportEdge {
	var mf jsMetafile
	if json.Unmarshal([]byte(metafile), &mf) != nil {
		return nil
	}
	var out []ImportEdge
	for from, in := range mf.Inputs {
		for _, imp := range in.Imports {
			if !strings.Contains(imp.Path, "*") {
				continue
			}
			pos := from
			if src, err := t.read(from); err == nil {
				prefix := imp.Path[:strings.IndexByte(imp.Path, '*')]
				if i := strings.Index(string(src), prefix); prefix != "" && i >= 0 {
					pos = fmt.Sprintf("%s:%d", from, lineOf(src, i))
				}
			}
			out = append(out, ImportEdge{From: path.Clean(from), To: "computed `" + imp.Path + "`", Pos: pos, Unresolved: true})
		}
	}
	return out
}
