// Package rules is factory.yaml: its types, its parser (errors name the
// file, line, field and the fix), reading it as committed at a revision,
// and the starter file `factory init` writes.
package rules

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/factory-dev/factory"
	"github.com/factory-dev/factory/invariants/benchstat"
	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
)

// ConfigFile is the name of the configuration file at the workspace root.
const ConfigFile = "factory.yaml"

// Gate kinds.
const (
	GateSuite     = "suite"      // {suite: unit}
	GateCommand   = "command"    // {run: [go, vet, ./...]}
	GateGoImports = "go-imports" // {builtin: go-imports}
	GateJSImports = "js-imports" // {builtin: js-imports, paths: [globs]}
	GatePyImports = "py-imports" // {builtin: py-imports, paths: [globs]}
	GatePattern   = "pattern"    // {pattern: {regex: ..., in: [globs], scope: added-lines|files}}
	GateCoverage  = "coverage"   // {coverage: {packages: [./...]}} or {coverage: {run: [...], profile: cover.out}}
	GateBench     = "bench"      // {bench: {pattern: ., packages: [./...], count: 10, benchtime: 20ms, budget: 30s}}
	GateDiff      = "diff"       // implicit: always present as diff.*
)

// Invariant kinds.
const (
	InvExpr          = "expr"
	InvDenyImports   = "deny_imports"
	InvProtect       = "protect"
	InvForbid        = "forbid"
	InvMaxRegression = "max_regression"
)

// Pattern scopes.
const (
	ScopeAddedLines = "added-lines"
	ScopeFiles      = "files"
)

// Config is a parsed factory.yaml. Its zero value declares nothing.
type Config struct {
	File       string                // the name errors were reported under
	Hash       string                // hex sha256 of the file's bytes
	Version    int                   // always 1
	Suites     []factory.Suite       // in file order
	Sandbox    factory.SandboxPolicy // limits for every command a gate runs
	Patch      PatchLimits           // what one patch may write; zero fields mean the engine's defaults
	Gates      []Gate                // in file order; "diff" is implicit and not listed
	Invariants []Invariant           // in file order
}

// Gate is one entry of factory.yaml's gates: something run on a tree that
// produces facts under its Name.
type Gate struct {
	Name string `json:"name"`
	Kind string `json:"kind"`
	Line int    `json:"line,omitempty"`

	Suite   string            `json:"suite,omitempty"`   // GateSuite: suite name
	Run     []string          `json:"run,omitempty"`     // GateCommand argv; GateCoverage/GateBench: replaces the default go test command
	Env     map[string]string `json:"env,omitempty"`     // extra environment for Run
	Timeout time.Duration     `json:"timeout,omitempty"` // zero means 10 minutes

	Packages []string `json:"packages,omitempty"` // GateGoImports, GateCoverage, GateBench: package patterns; empty means ./...

	Regex string   `json:"regex,omitempty"` // GatePattern: RE2 regular expression
	In    []string `json:"in,omitempty"`    // GatePattern: path globs; GateJSImports, GatePyImports: files read (paths:); empty means every file
	Scope string   `json:"scope,omitempty"` // GatePattern: ScopeAddedLines (default) or ScopeFiles

	Profile string `json:"profile,omitempty"` // GateCoverage: profile Run writes, relative to the root

	Bench     string `json:"bench,omitempty"`     // GateBench: -bench regexp; empty means "."
	Count     int    `json:"count,omitempty"`     // GateBench: rounds per tree, MinBenchCount or more; zero means 10
	Benchtime string `json:"benchtime,omitempty"` // GateBench: -benchtime; empty means 20ms
	// Budget is the wall time a paired bench gate may spend measuring
	// (after building); zero means gates.DefaultBenchBudget. A result too slow
	// to measure within it fails as "at least Nx slower".
	Budget time.Duration `json:"budget,omitempty"`

	// decideAt is the tightest max_regression percent that reads this
	// bench gate (0 when none): the paired rounds go on, within Budget,
	// while a benchmark's interval cannot yet say within or over it.
	decideAt float64
}

// Invariant is one entry of factory.yaml's invariants: a verdict over facts.
type Invariant struct {
	ID   string `json:"id"`
	Kind string `json:"kind"`
	Line int    `json:"line,omitempty"`

	Expr string `json:"expr,omitempty"` // InvExpr

	From []string `json:"from,omitempty"` // InvDenyImports: importing package patterns or path globs (see IsImportGlob)
	To   []string `json:"to,omitempty"`   // InvDenyImports: imported package patterns, path globs or package names

	Globs []string `json:"globs,omitempty"` // InvProtect

	Pattern string   `json:"pattern,omitempty"` // InvForbid: RE2 regular expression
	In      []string `json:"in,omitempty"`      // InvForbid: path globs; empty means every file
	Scope   string   `json:"scope,omitempty"`   // InvForbid: ScopeAddedLines (default) or ScopeFiles

	Bench   string  `json:"bench,omitempty"`   // InvMaxRegression: benchmark name or glob
	Percent float64 `json:"percent,omitempty"` // InvMaxRegression: largest allowed slowdown, percent

	Gate string `json:"gate,omitempty"` // the gate it reads (deny_imports, max_regression, forbid's implicit gate)
}

// ConfigPath is where factory.yaml lives in a working tree.
func ConfigPath(root string) string { return filepath.Join(root, ConfigFile) }

// DecideAt is the tightest max_regression percent that reads this bench
// gate (0 when none), set by Parse.
func (g Gate) DecideAt() float64 { return g.decideAt }

// readInDir reads name inside dir without following a symlink out of it.
func readInDir(dir, name string) ([]byte, error) {
	r, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return r.ReadFile(name)
}

// Load reads and parses the file at path. A missing file is ENOTFOUND; a
// malformed one is EINVALID with every problem's file, line and field.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, factory.Errorf(factory.ENOTFOUND, "%s not found; run `factory init` to write a starter file", path)
	}
	if err != nil {
		return nil, factory.Wrap("load "+path, err)
	}
	return Parse(filepath.Base(path), data)
}

// ConfigSource reads committed files: the trusted place factory.yaml is
// read from. The sandbox's workspace implements it.
type ConfigSource interface {
	// ReadFileAt returns the file at the slash-separated path in the tree
	// of revision rev, from the object store (never the working tree);
	// ENOTFOUND when the revision names nothing or has no such file.
	ReadFileAt(ctx context.Context, rev, path string) ([]byte, error)
}

// UncommittedNote is what every result that used the rules says when the
// working tree's factory.yaml differs from the committed one.
const UncommittedNote = ConfigFile + " has uncommitted changes; they apply once committed"

// DefaultConfigRev is the revision the rules are read from by default.
const DefaultConfigRev = "HEAD"

// LoadTrusted reads factory.yaml as committed at rev ("" means HEAD), never
// from the working tree: an edit of the working copy (by patch_apply or an
// editor factory cannot see) must not loosen the rules, the protected paths
// or the sandbox. note is UncommittedNote when root's working copy differs
// (or is missing), else "". Errors: ENOTFOUND, saying to commit the file,
// when rev names nothing or has no factory.yaml; EINVALID for a malformed
// file.
func LoadTrusted(ctx context.Context, src ConfigSource, root, rev string) (cfg *Config, note string, err error) {
	data, note, err := ReadTrusted(ctx, src, root, rev)
	if err != nil {
		return nil, "", err
	}
	cfg, err = Parse(ConfigFile, data)
	return cfg, note, err
}

// LoadOrDetect is how a tool finds the rules of a repository that may not
// have committed any: factory.yaml as committed at rev, read as LoadTrusted
// reads it, or, when none is committed (ENOTFOUND), the default rules with
// the suites detect proposes for root (none when detect is nil); note is
// then UncommittedNote when root holds an uncommitted factory.yaml. Other
// errors as LoadTrusted: a malformed committed file is never replaced by
// defaults.
func LoadOrDetect(ctx context.Context, src ConfigSource, root, rev string, detect func(root string) []factory.Suite) (cfg *Config, note string, err error) {
	cfg, note, err = LoadTrusted(ctx, src, root, rev)
	return OrDetect(cfg, note, err, root, detect)
}

// OrDetect replaces a missing committed config by the default rules with
// detected suites: the one fallback of LoadOrDetect and the controller's
// RulesOrDetect.
func OrDetect(cfg *Config, note string, err error, root string, detect func(root string) []factory.Suite) (*Config, string, error) {
	if factory.ErrorCode(err) != factory.ENOTFOUND {
		return cfg, note, err
	}
	note = ""
	if _, serr := os.Lstat(ConfigPath(root)); serr == nil {
		note = UncommittedNote
	}
	cfg = &Config{Version: 1}
	if detect != nil {
		cfg.Suites = detect(root)
	}
	return cfg, note, nil
}

// ReadTrusted is LoadTrusted's read, before parsing: the controller
// parses once per content and caches by the bytes.
func ReadTrusted(ctx context.Context, src ConfigSource, root, rev string) (data []byte, note string, err error) {
	if rev == "" {
		rev = DefaultConfigRev
	}
	data, err = src.ReadFileAt(ctx, rev, ConfigFile)
	if err != nil {
		if factory.ErrorCode(err) == factory.ENOTFOUND {
			return nil, "", factory.Errorf(factory.ENOTFOUND, "%s is not committed at %s (%s): the rules are read from the last commit, never from the working tree. Commit it: `git add %s && git commit` (`factory init` writes a starter; if git ignores the file, `factory doctor` names the rule)",
				ConfigFile, rev, factory.ErrorMessage(err), ConfigFile)
		}
		return nil, "", err
	}
	if root != "" {
		work, werr := readInDir(root, ConfigFile)
		if werr != nil || !bytes.Equal(work, data) {
			note = UncommittedNote
		}
	}
	return data, note, nil
}

// Parse parses factory.yaml's bytes; name is used in error messages. Errors
// are EINVALID, one line per problem: "name:LINE: field.path: what is
// expected". Unknown fields are errors.
func Parse(name string, data []byte) (*Config, error) {
	sum := sha256.Sum256(data)
	cfg := &Config{File: name, Hash: hex.EncodeToString(sum[:])}
	f, err := parser.ParseBytes(data, 0)
	if err != nil {
		var se *yaml.SyntaxError
		if errors.As(err, &se) && se.Token != nil {
			return nil, factory.Errorf(factory.EINVALID, "%s:%d: invalid YAML: %s", name, se.Token.Position.Line, se.Message)
		}
		return nil, factory.Errorf(factory.EINVALID, "%s: invalid YAML: %v", name, err)
	}
	p := &cparser{name: name}
	var body ast.Node
	for _, d := range f.Docs {
		if d != nil && d.Body != nil {
			if body != nil {
				p.errf(d.Body, "", "expected one YAML document, found several")
				break
			}
			body = d.Body
		}
	}
	if body == nil {
		return nil, factory.Errorf(factory.EINVALID, "%s: empty file; it needs at least `version: 1`", name)
	}
	p.top(cfg, body)
	if len(p.errs) > 0 {
		return nil, factory.Errorf(factory.EINVALID, "%s", strings.Join(p.errs, "\n"))
	}
	return cfg, nil
}

// cparser walks the YAML AST and collects errors with positions.
type cparser struct {
	name string
	errs []string
}

const maxErrors = 20

func (p *cparser) errf(n ast.Node, field, format string, args ...any) {
	if len(p.errs) >= maxErrors {
		return
	}
	msg := fmt.Sprintf(format, args...)
	if field != "" {
		msg = field + ": " + msg
	}
	p.errs = append(p.errs, fmt.Sprintf("%s:%d: %s", p.name, lineOf(n), msg))
}

func lineOf(n ast.Node) int {
	if n == nil {
		return 0
	}
	if t := n.GetToken(); t != nil && t.Position != nil {
		return t.Position.Line
	}
	return 0
}

// unwrap looks through anchors and tags.
func unwrap(n ast.Node) ast.Node {
	for {
		switch v := n.(type) {
		case *ast.AnchorNode:
			n = v.Value
		case *ast.TagNode:
			n = v.Value
		default:
			return n
		}
	}
}

func describe(n ast.Node) string {
	switch unwrap(n).(type) {
	case nil, *ast.NullNode:
		return "nothing"
	case *ast.StringNode, *ast.LiteralNode:
		return "a string"
	case *ast.IntegerNode, *ast.FloatNode, *ast.InfinityNode, *ast.NanNode:
		return "a number"
	case *ast.BoolNode:
		return "true/false"
	case *ast.SequenceNode:
		return "a list"
	case *ast.MappingNode, *ast.MappingValueNode:
		return "a mapping"
	case *ast.AliasNode:
		return "an alias"
	}
	return "something else"
}

type entry struct {
	key  string
	keyN ast.Node
	val  ast.Node
}

// optionalMapping is mapping for a field that may be absent or null: ok is
// false then, with no error.
func (p *cparser) optionalMapping(n ast.Node, field, hint string) ([]entry, bool) {
	if _, isNull := unwrap(n).(*ast.NullNode); isNull || n == nil {
		return nil, false
	}
	return p.mapping(n, field, hint)
}

// mapping returns the entries of a mapping node in order, or reports what
// was expected.
func (p *cparser) mapping(n ast.Node, field, hint string) ([]entry, bool) {
	var vals []*ast.MappingValueNode
	switch m := unwrap(n).(type) {
	case *ast.MappingNode:
		vals = m.Values
	case *ast.MappingValueNode:
		vals = []*ast.MappingValueNode{m}
	default:
		p.errf(n, field, "expected a mapping, got %s%s", describe(n), hint)
		return nil, false
	}
	seen := map[string]bool{}
	out := make([]entry, 0, len(vals))
	for _, mv := range vals {
		k, ok := scalarText(mv.Key)
		if !ok {
			p.errf(mv.Key, field, "keys must be plain names")
			continue
		}
		if seen[k] {
			p.errf(mv.Key, join(field, k), "declared twice")
			continue
		}
		seen[k] = true
		out = append(out, entry{key: k, keyN: mv.Key, val: mv.Value})
	}
	return out, true
}

func scalarText(n ast.Node) (string, bool) {
	switch v := unwrap(n).(type) {
	case *ast.StringNode:
		return v.Value, true
	case *ast.LiteralNode:
		return v.Value.Value, true
	case *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode:
		return v.GetToken().Value, true
	}
	return "", false
}

func join(a, b string) string {
	if a == "" {
		return b
	}
	return a + "." + b
}

func (p *cparser) str(n ast.Node, field, hint string) (string, bool) {
	s, ok := scalarText(n)
	if !ok {
		p.errf(n, field, "expected a string, got %s%s", describe(n), hint)
	}
	return s, ok
}

// strList accepts a list of scalars, or (when single is true) one scalar.
func (p *cparser) strList(n ast.Node, field, what, hint string, single bool) ([]string, bool) {
	if s, ok := scalarText(n); ok && single {
		return []string{s}, true
	}
	seq, ok := unwrap(n).(*ast.SequenceNode)
	if !ok {
		p.errf(n, field, "expected %s, got %s%s", what, describe(n), hint)
		return nil, false
	}
	out := make([]string, 0, len(seq.Values))
	for i, v := range seq.Values {
		s, ok := scalarText(v)
		if !ok {
			p.errf(v, fmt.Sprintf("%s[%d]", field, i), "expected a string, got %s", describe(v))
			return nil, false
		}
		out = append(out, s)
	}
	return out, true
}

func (p *cparser) argv(n ast.Node, field, example string) ([]string, bool) {
	hint := "; write run: [" + example + "]"
	argv, ok := p.strList(n, field, "a list of strings (argv)", hint, false)
	if ok && len(argv) == 0 {
		p.errf(n, field, "empty command%s", hint)
		return nil, false
	}
	return argv, ok
}

func (p *cparser) integer(n ast.Node, field string) (int, bool) {
	if v, ok := unwrap(n).(*ast.IntegerNode); ok {
		if i, err := strconv.Atoi(v.GetToken().Value); err == nil {
			return i, true
		}
	}
	p.errf(n, field, "expected a whole number, got %s", describe(n))
	return 0, false
}

func (p *cparser) number(n ast.Node, field string) (float64, bool) {
	switch unwrap(n).(type) {
	case *ast.IntegerNode, *ast.FloatNode:
		if f, err := strconv.ParseFloat(unwrap(n).GetToken().Value, 64); err == nil {
			return f, true
		}
	}
	p.errf(n, field, "expected a number, got %s", describe(n))
	return 0, false
}

func (p *cparser) boolean(n ast.Node, field string) (bool, bool) {
	if v, ok := unwrap(n).(*ast.BoolNode); ok {
		return v.Value, true
	}
	p.errf(n, field, "expected true or false, got %s", describe(n))
	return false, false
}

func (p *cparser) duration(n ast.Node, field string) (time.Duration, bool) {
	s, ok := scalarText(n)
	if ok {
		d, err := time.ParseDuration(s)
		if err == nil && d > 0 {
			return d, true
		}
	}
	p.errf(n, field, "expected a positive duration such as 90s or 10m, got %s", quoteOr(n))
	return 0, false
}

func (p *cparser) strMap(n ast.Node, field string) map[string]string {
	es, ok := p.mapping(n, field, "; write env: {NAME: value}")
	if !ok {
		return nil
	}
	out := make(map[string]string, len(es))
	for _, e := range es {
		if s, ok := p.str(e.val, join(field, e.key), ""); ok {
			out[e.key] = s
		}
	}
	return out
}

func quoteOr(n ast.Node) string {
	if s, ok := scalarText(n); ok {
		return strconv.Quote(s)
	}
	return describe(n)
}

func (p *cparser) unknown(e entry, field string, allowed ...string) {
	p.errf(e.keyN, join(field, e.key), "unknown field; expected one of %s", strings.Join(allowed, ", "))
}

var nameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

func (p *cparser) top(cfg *Config, body ast.Node) {
	es, ok := p.mapping(body, "", "; the file starts with `version: 1`")
	if !ok {
		return
	}
	for _, e := range es {
		switch e.key {
		case "version":
			if v, ok := p.integer(e.val, "version"); ok {
				if v != 1 {
					p.errf(e.val, "version", "only version 1 exists; write version: 1")
				}
				cfg.Version = v
			}
		case "suites":
			p.suites(cfg, e.val)
		case "sandbox":
			p.sandbox(cfg, e.val)
		case "patch":
			p.patchLimits(cfg, e.val)
		case "gates":
			p.gates(cfg, e.val)
		case "invariants":
			p.invariants(cfg, e.val)
		default:
			p.unknown(e, "", "version", "suites", "sandbox", "patch", "gates", "invariants")
		}
	}
	if cfg.Version == 0 && len(p.errs) == 0 {
		p.errf(body, "version", "missing; write version: 1 at the top")
	}
	p.crossCheck(cfg)
}

func (p *cparser) suites(cfg *Config, n ast.Node) {
	es, ok := p.mapping(n, "suites", "; write suites: {unit: {run: [go, test, -json, ./...], format: go-json}}")
	if !ok {
		return
	}
	for _, e := range es {
		f := "suites." + e.key
		if !nameRE.MatchString(e.key) {
			p.errf(e.keyN, f, "a suite name is letters, digits and _")
		}
		s := factory.Suite{Name: e.key}
		fields, ok := p.mapping(e.val, f, "; write "+e.key+": {run: [go, test, -json, ./...], format: go-json}")
		if !ok {
			continue
		}
		for _, fe := range fields {
			ff := join(f, fe.key)
			switch fe.key {
			case "run":
				s.Run, _ = p.argv(fe.val, ff, "go, test, -json, ./...")
			case "format":
				if v, ok := p.str(fe.val, ff, ""); ok {
					switch v {
					case factory.FormatGoJSON, factory.FormatJUnit, factory.FormatTAP, factory.FormatExitCode:
						s.Format = v
					default:
						p.errf(fe.val, ff, "expected go-json, junit, tap or exit-code, got %q", v)
					}
				}
			case "junit_path":
				s.JUnitPath, _ = p.str(fe.val, ff, "")
			case "timeout":
				s.Timeout, _ = p.duration(fe.val, ff)
			case "env":
				s.Env = p.strMap(fe.val, ff)
			default:
				p.unknown(fe, f, "run", "format", "junit_path", "timeout", "env")
			}
		}
		if s.Run == nil && !p.has(fields, "run") {
			p.errf(e.val, f+".run", "missing; write run: [go, test, -json, ./...]")
		}
		if s.Format == "" {
			s.Format = factory.FormatExitCode
			if len(s.Run) >= 2 && s.Run[0] == "go" && s.Run[1] == "test" && contains(s.Run, "-json") {
				s.Format = factory.FormatGoJSON
			}
		}
		if s.Format == factory.FormatJUnit && s.JUnitPath == "" {
			p.errf(e.val, f+".junit_path", "format junit needs junit_path: the file the command writes")
		}
		cfg.Suites = append(cfg.Suites, s)
	}
}

func (p *cparser) has(es []entry, key string) bool {
	for _, e := range es {
		if e.key == key {
			return true
		}
	}
	return false
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

var sizeRE = regexp.MustCompile(`^([0-9]+(?:\.[0-9]+)?)\s*([KMGT]i?B?|B)?$`)

// ParseSize parses a byte size such as "4GiB", "512MiB", "2G" or "1048576".
// K, M, G, T are powers of 1024 with or without the "i". Errors are EINVALID.
func ParseSize(s string) (int64, error) {
	m := sizeRE.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return 0, factory.Errorf(factory.EINVALID, "expected a size such as 4GiB or 512MiB, got %q", s)
	}
	f, _ := strconv.ParseFloat(m[1], 64)
	mult := 1.0
	if m[2] != "" && m[2] != "B" {
		mult = map[byte]float64{'K': 1 << 10, 'M': 1 << 20, 'G': 1 << 30, 'T': 1 << 40}[m[2][0]]
	}
	return int64(f * mult), nil
}

// PatchLimits bounds what one patch (patch_apply, change_propose) may write,
// so a small patch cannot expand into gigabytes. Zero means the engine's
// default (sandbox/patch: 64 MiB in all, 32 MiB per file). Like every rule
// they are read from factory.yaml as committed, so an agent cannot raise
// them for itself.
type PatchLimits struct {
	MaxWrite int64 `json:"max_write,omitempty"` // bytes written by one patch, all files
	MaxFile  int64 `json:"max_file,omitempty"`  // bytes of one file a patch writes
}

// Apply sets the limits on req, leaving fields the config does not set.
func (l PatchLimits) Apply(req factory.PatchRequest) factory.PatchRequest {
	if l.MaxWrite > 0 {
		req.MaxWriteBytes = l.MaxWrite
	}
	if l.MaxFile > 0 {
		req.MaxFileBytes = l.MaxFile
	}
	return req
}

func (p *cparser) patchLimits(cfg *Config, n ast.Node) {
	es, ok := p.mapping(n, "patch", "; write patch: {max_write: 64MiB, max_file: 32MiB}")
	if !ok {
		return
	}
	for _, e := range es {
		f := "patch." + e.key
		var dst *int64
		switch e.key {
		case "max_write":
			dst = &cfg.Patch.MaxWrite
		case "max_file":
			dst = &cfg.Patch.MaxFile
		default:
			p.unknown(e, "patch", "max_write", "max_file")
			continue
		}
		s, ok := scalarText(e.val)
		v, err := ParseSize(s)
		if !ok || err != nil || v <= 0 {
			p.errf(e.val, f, "expected a positive size such as 64MiB or 512KiB, got %s", describe(e.val))
			continue
		}
		*dst = v
	}
}

func (p *cparser) sandbox(cfg *Config, n ast.Node) {
	es, ok := p.mapping(n, "sandbox", "; write sandbox: {network: false, memory: 4GiB}")
	if !ok {
		return
	}
	sb := &cfg.Sandbox
	for _, e := range es {
		f := "sandbox." + e.key
		switch e.key {
		case "network":
			sb.Network, _ = p.boolean(e.val, f)
		case "memory":
			if s, ok := scalarText(e.val); ok {
				v, err := ParseSize(s)
				if err != nil {
					p.errf(e.val, f, "expected a size such as 4GiB or 512MiB, got %q", s)
				}
				sb.Memory = v
			} else {
				p.errf(e.val, f, "expected a size such as 4GiB, got %s", describe(e.val))
			}
		case "processes":
			sb.Processes, _ = p.integer(e.val, f)
		case "isolation":
			if s, ok := p.str(e.val, f, ""); ok {
				switch s {
				case "auto", "bwrap", "native", "seatbelt", "none":
					sb.Isolation = s
				default:
					p.errf(e.val, f, "expected auto, bwrap, native, seatbelt (macOS) or none, got %q", s)
				}
			}
		case "writable":
			sb.Writable, _ = p.strList(e.val, f, "a list of paths", "", true)
		case "env_allow":
			sb.EnvAllow, _ = p.strList(e.val, f, "a list of variable names", "", true)
		case "hide", "unhide":
			ps, _ := p.strList(e.val, f, "a list of paths", "; write "+e.key+": [~/.config/secret, /etc/secret]", true)
			p.hidePaths(e.val, f, ps)
			if e.key == "hide" {
				sb.Hide = ps
			} else {
				sb.Unhide = ps
			}
		default:
			p.unknown(e, "sandbox", "network", "memory", "processes", "isolation", "writable", "env_allow", "hide", "unhide")
		}
	}
}

// hidePaths checks the entries of sandbox.hide or sandbox.unhide: each an
// absolute path or glob, or one starting with ~/ (in every home directory),
// without "..", and never the whole root or a whole home.
func (p *cparser) hidePaths(n ast.Node, field string, paths []string) {
	for i, s := range paths {
		f := fmt.Sprintf("%s[%d]", field, i)
		rest, home := strings.CutPrefix(s, "~/")
		switch {
		case !home && !strings.HasPrefix(s, "/"):
			p.errf(n, f, "%q must be an absolute path or start with ~/ (meaning in every home directory), e.g. ~/.config/secret", s)
		case slices.Contains(strings.Split(s, "/"), ".."):
			p.errf(n, f, "%q must not contain ..; name the place itself", s)
		case s == "/" || home && strings.Trim(rest, "/") == "":
			p.errf(n, f, "%q names the root or a whole home; name the secret files or directories themselves", s)
		}
	}
}

var gateKeys = []string{"suite", "run", "builtin", "pattern", "coverage", "bench"}

func (p *cparser) gates(cfg *Config, n ast.Node) {
	es, ok := p.mapping(n, "gates", "; write gates: {tests: {suite: unit}}")
	if !ok {
		return
	}
	for _, e := range es {
		f := "gates." + e.key
		if !nameRE.MatchString(e.key) || e.key == "baseline" || e.key == GateDiff {
			p.errf(e.keyN, f, "a gate name is letters, digits and _, and not baseline or diff (those are reserved)")
			continue
		}
		g := Gate{Name: e.key, Line: lineOf(e.keyN)}
		fields, ok := p.mapping(e.val, f, "; write "+e.key+": {run: [go, vet, ./...]} or {suite: NAME} or {builtin: go-imports}")
		if !ok {
			continue
		}
		for _, fe := range fields {
			if contains(gateKeys, fe.key) {
				if g.Kind != "" {
					p.errf(fe.keyN, join(f, fe.key), "a gate has one kind; it already has %s", g.Kind)
					continue
				}
				g.Kind = map[string]string{"suite": GateSuite, "run": GateCommand, "builtin": "builtin", "pattern": GatePattern, "coverage": GateCoverage, "bench": GateBench}[fe.key]
			}
		}
		if g.Kind == "" {
			p.errf(e.val, f, "expected one of suite, run, builtin, pattern, coverage or bench; write %s: {run: [go, vet, ./...]}", e.key)
			continue
		}
		for _, fe := range fields {
			ff := join(f, fe.key)
			switch {
			case fe.key == "suite":
				g.Suite, _ = p.str(fe.val, ff, "; write suite: unit")
			case fe.key == "run":
				g.Run, _ = p.argv(fe.val, ff, "go, vet, ./...")
			case fe.key == "builtin":
				if s, ok := p.str(fe.val, ff, ""); ok {
					g.Kind = GateGoImports
					if s == GateJSImports || s == GatePyImports {
						g.Kind = s
					} else if s != GateGoImports {
						p.errf(fe.val, ff, "unknown builtin %q; the builtin gates are go-imports, js-imports and py-imports", s)
					}
				}
			case fe.key == "pattern":
				p.patternGate(&g, fe.val, ff)
			case fe.key == "coverage":
				p.coverageGate(&g, fe.val, ff)
			case fe.key == "bench":
				p.benchGate(&g, fe.val, ff)
			case fe.key == "timeout":
				g.Timeout, _ = p.duration(fe.val, ff)
			case fe.key == "env" && (g.Kind == GateCommand):
				g.Env = p.strMap(fe.val, ff)
			case fe.key == "packages" && g.Kind == GateGoImports:
				g.Packages, _ = p.strList(fe.val, ff, "a list of package patterns", "", true)
			case fe.key == "paths" && (g.Kind == GateJSImports || g.Kind == GatePyImports):
				g.In, _ = p.strList(fe.val, ff, "a list of path globs", "; write paths: [\"src/**\"]", true)
				p.globs(fe.val, ff, g.In)
			default:
				allowed := map[string][]string{GateSuite: {"suite", "timeout"}, GateCommand: {"run", "env", "timeout"}, GateGoImports: {"builtin", "packages", "timeout"},
					GateJSImports: {"builtin", "paths", "timeout"}, GatePyImports: {"builtin", "paths", "timeout"}, "builtin": {"builtin", "packages", "paths", "timeout"}}[g.Kind]
				if allowed == nil {
					allowed = []string{kindKey(g.Kind), "timeout"}
				}
				p.unknown(fe, f, allowed...)
			}
		}
		if g.Kind == "builtin" {
			continue // already reported
		}
		cfg.Gates = append(cfg.Gates, g)
	}
}

func kindKey(kind string) string {
	if kind == GateCommand {
		return "run"
	}
	return kind
}

func (p *cparser) patternGate(g *Gate, n ast.Node, f string) {
	g.Regex, g.In, g.Scope = p.matchSpec(n, f, "regex", `; write pattern: {regex: "TODO", in: ["**/*.go"], scope: added-lines}`)
}

// matchSpec parses the body shared by a pattern gate and a forbid
// invariant: a regular expression under key, in (path globs) and scope
// (added-lines, the default, or files).
func (p *cparser) matchSpec(n ast.Node, f, key, hint string) (re string, in []string, scope string) {
	es, ok := p.mapping(n, f, hint)
	if !ok {
		return "", nil, ""
	}
	for _, e := range es {
		ff := join(f, e.key)
		switch e.key {
		case key:
			re, _ = p.str(e.val, ff, "")
		case "in":
			in, _ = p.strList(e.val, ff, "a list of path globs", "", true)
		case "scope":
			scope, _ = p.scope(e.val, ff)
		default:
			p.unknown(e, f, key, "in", "scope")
		}
	}
	if re == "" {
		p.errf(n, f+"."+key, "missing; write %s: \"TODO\"", key)
	} else if _, err := regexp.Compile(re); err != nil {
		p.errf(n, f+"."+key, "not a valid RE2 regular expression: %v", err)
	}
	if scope == "" {
		scope = ScopeAddedLines
	}
	p.globs(n, f+".in", in)
	return re, in, scope
}

func (p *cparser) scope(n ast.Node, f string) (string, bool) {
	s, ok := p.str(n, f, "")
	if ok && s != ScopeAddedLines && s != ScopeFiles {
		p.errf(n, f, "expected added-lines or files, got %q", s)
		return "", false
	}
	return s, ok
}

func (p *cparser) globs(n ast.Node, f string, gs []string) {
	for _, g := range gs {
		if err := validGlob(g); err != nil {
			p.errf(n, f, "%v", err)
		}
	}
}

func (p *cparser) coverageGate(g *Gate, n ast.Node, f string) {
	es, ok := p.optionalMapping(n, f, "; write coverage: {packages: [./...]}")
	if !ok {
		return
	}
	for _, e := range es {
		ff := join(f, e.key)
		switch e.key {
		case "packages":
			g.Packages, _ = p.strList(e.val, ff, "a list of package patterns", "", true)
		case "run":
			g.Run, _ = p.argv(e.val, ff, "go, test, -coverprofile=cover.out, ./...")
		case "profile":
			g.Profile, _ = p.str(e.val, ff, "")
		case "env":
			g.Env = p.strMap(e.val, ff)
		default:
			p.unknown(e, f, "packages", "run", "profile", "env")
		}
	}
	if (g.Run == nil) != (g.Profile == "") {
		p.errf(n, f, "run and profile go together: the command and the cover profile it writes")
	}
}

func (p *cparser) benchGate(g *Gate, n ast.Node, f string) {
	es, ok := p.optionalMapping(n, f, "; write bench: {pattern: ., packages: [./...], count: 10, benchtime: 20ms}")
	if !ok {
		return
	}
	for _, e := range es {
		ff := join(f, e.key)
		switch e.key {
		case "pattern":
			g.Bench, _ = p.str(e.val, ff, "")
		case "packages":
			g.Packages, _ = p.strList(e.val, ff, "a list of package patterns", "", true)
		case "count":
			if c, ok := p.integer(e.val, ff); ok {
				p.benchCount(e.val, ff, c)
				g.Count = c
			}
		case "benchtime":
			g.Benchtime, _ = p.str(e.val, ff, "")
		case "budget":
			g.Budget, _ = p.duration(e.val, ff)
		case "run":
			g.Run, _ = p.argv(e.val, ff, "go, test, -run=^$, -bench=., -count=10, ./...")
		case "env":
			g.Env = p.strMap(e.val, ff)
		default:
			p.unknown(e, f, "pattern", "packages", "count", "benchtime", "budget", "run", "env")
		}
	}
	if g.Bench != "" {
		if _, err := regexp.Compile(g.Bench); err != nil {
			p.errf(n, f+".pattern", "not a valid regular expression: %v", err)
		}
	}
}

// benchCount refuses a round count whose paired test can never reach
// significance: with n rounds the smallest two-sided p of the paired
// sign-flip test is 2/2^n (every round's difference of one sign), so below
// MinBenchCount a slowdown of any size could never be told from noise and
// the gate could never fail.
func (p *cparser) benchCount(n ast.Node, f string, c int) {
	switch {
	case c < benchstat.MinBenchCount:
		p.errf(n, f, "count %d can never reach p < %g (the smallest p with %d pairs is %.3f); use count: %d or more", c, benchstat.Alpha, c, benchstat.MinSignFlipP(c), benchstat.MinBenchCount)
	case c > 50:
		p.errf(n, f, "expected at most 50 rounds; use count: 10 to 20")
	}
}

var invKeys = []string{InvExpr, InvDenyImports, InvProtect, InvForbid, InvMaxRegression}

func (p *cparser) invariants(cfg *Config, n ast.Node) {
	seq, ok := unwrap(n).(*ast.SequenceNode)
	if !ok {
		p.errf(n, "invariants", "expected a list, got %s; write invariants: [{id: tests-pass, expr: \"tests.failed == 0\"}]", describe(n))
		return
	}
	ids := map[string]bool{}
	for i, item := range seq.Values {
		f := fmt.Sprintf("invariants[%d]", i)
		es, ok := p.mapping(item, f, "; write - {id: NAME, expr: \"...\"}")
		if !ok {
			continue
		}
		inv := Invariant{Line: lineOf(item)}
		for _, e := range es {
			if e.key == "id" {
				if s, ok := p.str(e.val, f+".id", ""); ok {
					inv.ID = s
					f = fmt.Sprintf("invariants[%s]", s)
				}
			}
		}
		if inv.ID == "" {
			p.errf(item, f+".id", "missing; every invariant has an id such as tests-pass")
		} else if ids[inv.ID] {
			p.errf(item, f+".id", "id %q is used twice", inv.ID)
		}
		ids[inv.ID] = true
		for _, e := range es {
			ff := join(f, e.key)
			if e.key == "id" {
				continue
			}
			if contains(invKeys, e.key) {
				if inv.Kind != "" {
					p.errf(e.keyN, ff, "an invariant has one kind; it already has %s", inv.Kind)
					continue
				}
				inv.Kind = e.key
			}
			switch e.key {
			case InvExpr:
				inv.Expr, _ = p.str(e.val, ff, `; write expr: "tests.failed == 0"`)
			case InvDenyImports:
				p.denyImports(&inv, e.val, ff)
			case InvProtect:
				inv.Globs, _ = p.strList(e.val, ff, "a list of path globs", `; write protect: ["**/*_test.go"]`, true)
				p.globs(e.val, ff, inv.Globs)
			case InvForbid:
				p.forbid(&inv, e.val, ff)
			case InvMaxRegression:
				p.maxRegression(&inv, e.val, ff)
			default:
				p.unknown(e, f, "id", "expr", "deny_imports", "protect", "forbid", "max_regression")
			}
		}
		if inv.Kind == "" {
			p.errf(item, f, "expected one of expr, deny_imports, protect, forbid or max_regression")
			continue
		}
		cfg.Invariants = append(cfg.Invariants, inv)
	}
}

func (p *cparser) denyImports(inv *Invariant, n ast.Node, f string) {
	es, ok := p.mapping(n, f, `; write deny_imports: {from: "./ui/...", to: ["./internal/db/..."]}`)
	if !ok {
		return
	}
	for _, e := range es {
		ff := join(f, e.key)
		switch e.key {
		case "from", "to":
			ps, _ := p.strList(e.val, ff, "package patterns or path globs", "", true)
			for _, pat := range ps {
				if err := validImportPattern(pat); err != nil {
					p.errf(e.val, ff, "%v", err)
				}
			}
			if e.key == "from" {
				inv.From = ps
			} else {
				inv.To = ps
			}
		case "gate":
			inv.Gate, _ = p.str(e.val, ff, "")
		default:
			p.unknown(e, f, "from", "to", "gate")
		}
	}
	if len(inv.From) == 0 || len(inv.To) == 0 {
		p.errf(n, f, `needs from and to; write deny_imports: {from: "./ui/...", to: ["./internal/db/..."]}`)
	}
}

func (p *cparser) forbid(inv *Invariant, n ast.Node, f string) {
	inv.Pattern, inv.In, inv.Scope = p.matchSpec(n, f, "pattern", `; write forbid: {pattern: "t\\.Skip\\(", in: ["**/*_test.go"], scope: added-lines}`)
}

func (p *cparser) maxRegression(inv *Invariant, n ast.Node, f string) {
	es, ok := p.mapping(n, f, `; write max_regression: {bench: "BenchmarkParse*", percent: 10}`)
	if !ok {
		return
	}
	hasPct := false
	for _, e := range es {
		ff := join(f, e.key)
		switch e.key {
		case "bench":
			inv.Bench, _ = p.str(e.val, ff, "")
		case "percent":
			inv.Percent, hasPct = p.number(e.val, ff)
		case "gate":
			inv.Gate, _ = p.str(e.val, ff, "")
		default:
			p.unknown(e, f, "bench", "percent", "gate")
		}
	}
	if inv.Bench == "" {
		inv.Bench = "*"
	}
	if !hasPct || inv.Percent < 0 {
		p.errf(n, f+".percent", "expected a percentage of 0 or more, such as percent: 10")
	}
}

// crossCheck validates references between sections.
func (p *cparser) crossCheck(cfg *Config) {
	suites := map[string]bool{}
	for _, s := range cfg.Suites {
		suites[s.Name] = true
	}
	byKind := map[string][]string{}
	names := map[string]bool{}
	for _, g := range cfg.Gates {
		byKind[g.Kind] = append(byKind[g.Kind], g.Name)
		if IsImportsGate(g.Kind) {
			byKind[importsKind] = append(byKind[importsKind], g.Name)
		}
		names[g.Name] = true
		if g.Kind == GateSuite && !suites[g.Suite] && g.Suite != "" {
			p.errs = append(p.errs, fmt.Sprintf("%s:%d: gates.%s.suite: no suite named %q; declare it under suites", p.name, g.Line, g.Name, g.Suite))
		}
	}
	for i := range cfg.Invariants {
		inv := &cfg.Invariants[i]
		var kind string
		switch inv.Kind {
		case InvDenyImports:
			kind = importsKind
		case InvMaxRegression:
			kind = GateBench
		default:
			continue
		}
		f := fmt.Sprintf("%s:%d: invariants[%s].%s", p.name, inv.Line, inv.ID, inv.Kind)
		switch {
		case inv.Gate != "":
			found := false
			for _, g := range cfg.Gates {
				if g.Name == inv.Gate && (g.Kind == kind || kind == importsKind && IsImportsGate(g.Kind)) {
					found = true
				}
			}
			if !found {
				p.errs = append(p.errs, fmt.Sprintf("%s.gate: no %s gate named %q", f, kind, inv.Gate))
			}
		case len(byKind[kind]) == 1:
			inv.Gate = byKind[kind][0]
		case len(byKind[kind]) == 0:
			p.errs = append(p.errs, fmt.Sprintf("%s: needs a %s gate; add one under gates, e.g. %s", f, kind, map[string]string{importsKind: "imports: {builtin: go-imports}", GateBench: "bench: {bench: {packages: [./...]}}"}[kind]))
		default:
			p.errs = append(p.errs, fmt.Sprintf("%s: several %s gates (%s); say which with gate: NAME", f, kind, strings.Join(byKind[kind], ", ")))
		}
	}
	markDecideAt(cfg)
}

// markDecideAt tells each bench gate the tightest budget it is judged by.
func markDecideAt(cfg *Config) {
	for i := range cfg.Invariants {
		inv := cfg.Invariants[i]
		if inv.Kind != InvMaxRegression {
			continue
		}
		for j := range cfg.Gates {
			g := &cfg.Gates[j]
			if g.Name == inv.Gate && (g.decideAt == 0 || inv.Percent < g.decideAt) {
				g.decideAt = inv.Percent
			}
		}
	}
}

// importsKind stands for any imports gate where deny_imports looks for the
// gate it reads.
const importsKind = "go-imports, js-imports or py-imports"

// IsImportsGate reports whether a gate kind yields import edges.
func IsImportsGate(kind string) bool {
	return kind == GateGoImports || kind == GateJSImports || kind == GatePyImports
}
