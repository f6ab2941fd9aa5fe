package invariants

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/file"
	exprparser "github.com/expr-lang/expr/parser"
	"github.com/expr-lang/expr/vm"
	"github.com/factory-dev/factory"
	"github.com/factory-dev/factory/invariants/benchstat"
	"github.com/factory-dev/factory/invariants/gates"
	"github.com/factory-dev/factory/invariants/rules"
)

// ImplicitProtectID is the id of the invariant factory adds when no protect
// invariant of factory.yaml covers factory.yaml itself: a change may never
// edit the rules that judge it.
const ImplicitProtectID = "factory-yaml-protected"

// plan is a Config compiled for evaluation: expr programs, the gates each
// invariant reads, and which gates must also run on the baseline.
type plan struct {
	cfg       *rules.Config
	gates     []rules.Gate // cfg.Gates plus one pattern gate per forbid
	kinds     map[string]string
	invs      []*compiled
	baseGates map[string]bool
	env       map[string]any // typed zero values for the expr checker
	baseType  reflect.Type
	baseIdx   map[string]int // gate name -> field of baseType
}

type compiled struct {
	rules.Invariant
	prog     *vm.Program
	bad      string   // compile error, one line
	badMore  []string // its position and snippet
	refs     []string // gates read on this tree
	baseRefs []string // gates read on the baseline
	chains   []string // fact paths shown as evidence
	static   bool     // reads only the diff and added-line patterns: decidable before any command runs
}

func forbidGate(id string) string { return "forbid:" + id }

// newPlan compiles cfg. It does not fail: an invariant that does not
// compile becomes an error verdict when evaluated.
func newPlan(cfg *rules.Config) *plan {
	p := &plan{cfg: cfg, kinds: map[string]string{rules.GateDiff: rules.GateDiff}, baseGates: map[string]bool{}, baseIdx: map[string]int{}}
	p.gates = append(p.gates, cfg.Gates...)
	invs := cfg.Invariants
	covered := false
	for _, inv := range invs {
		if inv.Kind == rules.InvProtect && rules.MatchAny(inv.Globs, rules.ConfigFile) && len(inv.Globs) > 0 {
			covered = true
		}
	}
	if !covered {
		invs = append([]rules.Invariant{{ID: ImplicitProtectID, Kind: rules.InvProtect, Globs: []string{rules.ConfigFile}}}, invs...)
	}
	invs = append(invs, impliedSuiteInvariants(cfg, invs)...)
	for _, inv := range invs {
		if inv.Kind == rules.InvForbid {
			p.gates = append(p.gates, rules.Gate{Name: forbidGate(inv.ID), Kind: rules.GatePattern, Regex: inv.Pattern, In: inv.In, Scope: inv.Scope})
		}
	}
	var fields []reflect.StructField
	p.env = map[string]any{rules.GateDiff: gates.DiffFacts{}}
	for _, g := range p.gates {
		p.kinds[g.Name] = g.Kind
		if strings.HasPrefix(g.Name, "forbid:") {
			continue
		}
		t := gates.FactType(g.Kind)
		p.env[g.Name] = reflect.Zero(t).Interface()
		p.baseIdx[g.Name] = len(fields)
		fields = append(fields, reflect.StructField{Name: fmt.Sprintf("G%d", len(fields)), Type: t, Tag: reflect.StructTag(`expr:"` + g.Name + `"`)})
		if g.Kind == rules.GateBench {
			p.baseGates[g.Name] = true // compare needs the baseline's samples
		}
	}
	p.baseType = reflect.StructOf(fields)
	p.env["baseline"] = reflect.Zero(p.baseType).Interface()
	for _, inv := range invs {
		c := &compiled{Invariant: inv}
		switch inv.Kind {
		case rules.InvExpr:
			p.compileExpr(c)
		case rules.InvDenyImports:
			c.refs = []string{inv.Gate}
		case rules.InvProtect:
			c.refs, c.static = []string{rules.GateDiff}, true
		case rules.InvForbid:
			c.refs, c.static = []string{forbidGate(inv.ID)}, inv.Scope != rules.ScopeFiles
		case rules.InvMaxRegression:
			c.refs, c.baseRefs = []string{inv.Gate}, []string{inv.Gate}
		}
		for _, g := range c.baseRefs {
			p.baseGates[g] = true
		}
		p.invs = append(p.invs, c)
	}
	return p
}

func (p *plan) compileExpr(c *compiled) {
	prog, err := expr.Compile(c.Expr, expr.Env(p.env), expr.AsBool())
	if err != nil {
		c.bad, c.badMore = exprError(err)
		if strings.Contains(c.bad, "has no field") && strings.Contains(c.bad, "struct {") {
			c.bad = "baseline has no such gate: " + c.bad[strings.LastIndex(c.bad, "has no field")+len("has no field "):]
		}
		return
	}
	c.prog = prog
	tree, err := exprparser.Parse(c.Expr)
	if err != nil {
		return
	}
	v := &refVisitor{p: p, refs: map[string]bool{}, base: map[string]bool{}}
	ast.Walk(&tree.Node, v)
	c.refs, c.baseRefs = sortedKeys(v.refs), sortedKeys(v.base)
	sort.Strings(v.chains)
	for i, ch := range v.chains {
		prefix := false
		for _, other := range v.chains[i+1:] {
			if strings.HasPrefix(other, ch+".") || strings.HasPrefix(other, ch+"[") {
				prefix = true
			}
		}
		if !prefix && (i == 0 || v.chains[i-1] != ch) {
			c.chains = append(c.chains, ch)
		}
	}
	c.static = len(c.baseRefs) == 0
	for _, r := range c.refs {
		g := p.gate(r)
		if r != rules.GateDiff && !(g != nil && g.Kind == rules.GatePattern && g.Scope != rules.ScopeFiles) {
			c.static = false
		}
	}
}

func (p *plan) gate(name string) *rules.Gate {
	for i := range p.gates {
		if p.gates[i].Name == name {
			return &p.gates[i]
		}
	}
	return nil
}

// exprError splits an expr error into its message and position lines.
func exprError(err error) (string, []string) {
	var fe *file.Error
	if errors.As(err, &fe) {
		more := []string{fmt.Sprintf("at line %d, column %d", fe.Line, fe.Column+1)}
		for _, l := range strings.Split(strings.TrimRight(fe.Snippet, "\n"), "\n") {
			if strings.TrimSpace(l) != "" {
				more = append(more, l)
			}
		}
		return fmt.Sprintf("%s (%d:%d)", fe.Message, fe.Line, fe.Column+1), more
	}
	lines := strings.Split(err.Error(), "\n")
	return lines[0], lines[1:]
}

type refVisitor struct {
	p      *plan
	refs   map[string]bool
	base   map[string]bool
	chains []string
}

func (v *refVisitor) Visit(n *ast.Node) {
	switch x := (*n).(type) {
	case *ast.IdentifierNode:
		if _, ok := v.p.kinds[x.Value]; ok {
			v.refs[x.Value] = true
			v.chains = append(v.chains, x.Value)
		}
	case *ast.MemberNode:
		if id, ok := x.Node.(*ast.IdentifierNode); ok {
			s, _ := x.Property.(*ast.StringNode)
			switch {
			case s == nil:
			case id.Value == "baseline":
				v.base[s.Value] = true
			case v.p.kinds[id.Value] == rules.GateSuite && (s.Value == "new_failures" || s.Value == "already_failing"):
				// compared with the same gate's failures on the base
				v.base[id.Value] = true
			}
		}
		if root := chainRoot(x); root != "" {
			v.chains = append(v.chains, x.String())
		}
	}
}

// chainRoot returns the identifier a member chain starts from, if it is a
// gate, diff or baseline.
func chainRoot(n ast.Node) string {
	for {
		switch x := n.(type) {
		case *ast.MemberNode:
			n = x.Node
		case *ast.IdentifierNode:
			return x.Value
		default:
			return ""
		}
	}
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// evalInput is what evaluation reads: this tree's gate outcomes, the
// baseline's (nil without a baseline) and the diff facts.
type evalInput struct {
	facts gates.TreeFacts
	base  gates.TreeFacts // nil: no baseline
	diff  *gates.DiffFacts
}

// evaluate returns the verdict of one invariant. Its duration is the time
// of the gates it reads (on this tree) plus its own evaluation.
func (p *plan) evaluate(c *compiled, in evalInput) factory.Verdict {
	start := time.Now()
	v := p.verdict(c, in)
	v.ID = c.ID
	v.Duration = time.Since(start)
	for _, r := range c.refs {
		v.Duration += in.facts[r].Duration
	}
	return v
}

func (p *plan) verdict(c *compiled, in evalInput) factory.Verdict {
	if c.Kind == rules.InvExpr && c.prog == nil {
		return factory.Verdict{Status: factory.VerdictError, Message: "expr does not compile: " + c.bad, Evidence: append([]string{c.Expr}, c.badMore...)}
	}
	for _, r := range c.refs {
		if r == rules.GateDiff {
			continue
		}
		o, ok := in.facts[r]
		if !ok {
			return factory.Verdict{Status: factory.VerdictSkipped, Message: "gate " + r + " did not run"}
		}
		if o.Err != "" {
			return factory.Verdict{Status: factory.VerdictError, Message: "gate " + r + ": " + firstLine(o.Err), Evidence: moreLines(o.Err)}
		}
	}
	if len(c.baseRefs) > 0 {
		if in.base == nil {
			return factory.Verdict{Status: factory.VerdictSkipped, Message: "needs a baseline to compare with; pass one"}
		}
		for _, r := range c.baseRefs {
			o := in.base[r]
			if o.Err != "" {
				return factory.Verdict{Status: factory.VerdictError, Message: "gate " + r + " on the baseline: " + firstLine(o.Err), Evidence: moreLines(o.Err)}
			}
		}
	}
	switch c.Kind {
	case rules.InvExpr:
		return p.evalExpr(c, in)
	case rules.InvProtect:
		return evalProtect(c, in.diff)
	case rules.InvForbid:
		f := in.facts[forbidGate(c.ID)].Facts.(gates.PatternFacts)
		if f.Count == 0 {
			return factory.Verdict{Status: factory.VerdictPass, Message: fmt.Sprintf("no match of %q", c.Pattern)}
		}
		where := "added lines"
		if c.Scope == rules.ScopeFiles {
			where = "files"
		}
		return factory.Verdict{Status: factory.VerdictFail, Message: fmt.Sprintf("%d forbidden match(es) of %q in %s", f.Count, c.Pattern, where), Evidence: f.Matches}
	case rules.InvDenyImports:
		return evalDenyImports(c, in.facts[c.Gate].Facts.(gates.ImportsFacts))
	case rules.InvMaxRegression:
		return evalMaxRegression(c, in.facts[c.Gate].Facts.(benchstat.BenchFacts))
	}
	return factory.Verdict{Status: factory.VerdictError, Message: "unknown invariant kind " + c.Kind}
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

func moreLines(s string) []string {
	lines := strings.Split(s, "\n")
	if len(lines) <= 1 {
		return nil
	}
	return lines[1:]
}

// exprEnv builds the runtime environment for expr programs.
func (p *plan) exprEnv(in evalInput) map[string]any {
	env := map[string]any{}
	for name := range p.env {
		if name == "baseline" {
			continue
		}
		env[name] = p.env[name]
		if o, ok := in.facts[name]; ok && o.Facts != nil {
			env[name] = o.Facts
		}
	}
	if in.diff != nil {
		env[rules.GateDiff] = *in.diff
	}
	b := reflect.New(p.baseType).Elem()
	for name, i := range p.baseIdx {
		if o, ok := in.base[name]; ok && o.Facts != nil {
			b.Field(i).Set(reflect.ValueOf(o.Facts))
		}
	}
	env["baseline"] = b.Interface()
	return env
}

func (p *plan) evalExpr(c *compiled, in evalInput) factory.Verdict {
	env := p.exprEnv(in)
	out, err := expr.Run(c.prog, env)
	if err != nil {
		msg, more := exprError(err)
		return factory.Verdict{Status: factory.VerdictError, Message: "expr failed: " + msg, Evidence: more}
	}
	var ev []string
	for _, ch := range c.chains {
		prog, err := expr.Compile(ch, expr.Env(p.env))
		if err != nil {
			continue
		}
		val, err := expr.Run(prog, env)
		if err != nil {
			continue
		}
		ev = append(ev, ch+" = "+factory.Clip(showValue(val), 300))
	}
	for _, r := range c.refs {
		if sf, ok := in.facts[r].Facts.(gates.SuiteFacts); ok && len(sf.AlreadyFailing) > 0 {
			ev = append(ev, "already failing on the base: "+strings.Join(gates.Limit(sf.AlreadyFailing, 20), ", "))
		}
	}
	if out == true {
		return factory.Verdict{Status: factory.VerdictPass, Message: c.Expr, Evidence: ev}
	}
	for _, r := range c.refs {
		if sf, ok := in.facts[r].Facts.(gates.SuiteFacts); ok {
			ev = append(ev, gates.Limit(sf.Details, 20)...)
		}
		if cf, ok := in.facts[r].Facts.(gates.CommandFacts); ok && cf.ExitCode != 0 && cf.Output != "" {
			ev = append(ev, gates.Limit(strings.Split(cf.Output, "\n"), 20)...)
		}
	}
	return factory.Verdict{Status: factory.VerdictFail, Message: "false: " + c.Expr, Evidence: ev}
}

func showValue(v any) string {
	switch x := v.(type) {
	case string:
		return fmt.Sprintf("%q", x)
	case gates.SuiteFacts:
		return fmt.Sprintf("{total: %d, passed: %d, failed: %d, skipped: %d, build_errors: %d, missing: %d, deleted: %d}", x.Total, x.Passed, x.Failed, x.Skipped, x.BuildErrors, len(x.Missing), len(x.Deleted))
	case gates.CommandFacts:
		return fmt.Sprintf("{exit_code: %d}", x.ExitCode)
	}
	return fmt.Sprintf("%v", v)
}

func evalProtect(c *compiled, d *gates.DiffFacts) factory.Verdict {
	if d == nil {
		return factory.Verdict{Status: factory.VerdictSkipped, Message: "no base to compare with; nothing changed"}
	}
	var ev []string
	for _, f := range d.Stats() {
		hit := ""
		switch {
		case f.Status == factory.StatusRenamed && (rules.MatchAny(c.Globs, f.OldPath) || rules.MatchAny(c.Globs, f.Path)):
			hit = fmt.Sprintf("renamed %s -> %s", f.OldPath, f.Path)
		case f.Status == factory.StatusAdded || f.Status == factory.StatusCopied:
			// a new file is not an edit of a protected one
		case rules.MatchAny(c.Globs, f.Path):
			hit = fmt.Sprintf("%s %s (+%d -%d)", f.Status, f.Path, f.Additions, f.Deletions)
		}
		if hit != "" {
			ev = append(ev, hit)
		}
	}
	if len(ev) == 0 {
		return factory.Verdict{Status: factory.VerdictPass, Message: "no protected file changed (" + strings.Join(c.Globs, ", ") + ")"}
	}
	return factory.Verdict{Status: factory.VerdictFail, Message: fmt.Sprintf("the change edits %d protected file(s) (%s); protected files are read from the base and may not be modified, deleted or renamed", len(ev), strings.Join(c.Globs, ", ")), Evidence: ev}
}

// pkgPattern compiles a Go package pattern; "./x/..." is relative to the
// module path, or to the root for a file graph (module "").
func pkgPattern(module, pat string) *regexp.Regexp {
	switch {
	case pat == "." || pat == "./":
		pat = module
	case strings.HasPrefix(pat, "./") && module == "":
		pat = strings.TrimPrefix(pat, "./")
	case strings.HasPrefix(pat, "./"):
		pat = module + "/" + strings.TrimPrefix(pat, "./")
	}
	q := regexp.QuoteMeta(pat)
	if strings.HasSuffix(q, `/\.\.\.`) {
		q = strings.TrimSuffix(q, `/\.\.\.`) + `(/.*)?`
	}
	q = strings.ReplaceAll(q, `\.\.\.`, `.*`)
	return regexp.MustCompile("^" + q + "$")
}

// importMatcher matches one end of an edge against a deny_imports pattern:
// a Go package pattern, or a path glob (rules.IsImportGlob), which also
// names a bare package; on a Go package graph a glob matches a package's
// import path or its directory relative to the module root.
func importMatcher(module, pat string) func(string) bool {
	if !rules.IsImportGlob(pat) {
		return pkgPattern(module, pat).MatchString
	}
	return func(s string) bool {
		if rules.MatchGlob(pat, s) {
			return true
		}
		rel, ok := strings.CutPrefix(s, module+"/")
		return module != "" && ok && rules.MatchGlob(pat, rel)
	}
}

// evalDenyImports fails on every edge from a from pattern to a to pattern,
// and on every unresolved import (a computed require or __import__) from a
// from pattern: it could reach anything, the denied layers included.
func evalDenyImports(c *compiled, f gates.ImportsFacts) factory.Verdict {
	var from, to []func(string) bool
	for _, p := range c.From {
		from = append(from, importMatcher(f.Module, p))
	}
	for _, p := range c.To {
		to = append(to, importMatcher(f.Module, p))
	}
	any := func(ms []func(string) bool, s string) bool {
		for _, m := range ms {
			if m(s) {
				return true
			}
		}
		return false
	}
	var ev []string
	for _, e := range f.Edges {
		if !any(from, e.From) {
			continue
		}
		pos := e.Pos
		if pos == "" {
			pos = "?"
		}
		switch {
		case e.Unresolved:
			ev = append(ev, fmt.Sprintf("%s: %s imports %s, which cannot be resolved without running it and could reach %s; write the import with a literal path", pos, e.From, e.To, strings.Join(c.To, ", ")))
		case any(to, e.To):
			ev = append(ev, fmt.Sprintf("%s: %s imports %s", pos, e.From, e.To))
		}
	}
	rule := strings.Join(c.From, ", ") + " may not import " + strings.Join(c.To, ", ")
	if len(ev) == 0 {
		return factory.Verdict{Status: factory.VerdictPass, Message: rule}
	}
	return factory.Verdict{Status: factory.VerdictFail, Message: fmt.Sprintf("%d denied import(s): %s", len(ev), rule), Evidence: ev}
}

// benchGlob matches a benchmark name: "*" matches any run of characters.
func benchGlob(glob, name string) bool {
	q := regexp.QuoteMeta(glob)
	q = strings.ReplaceAll(q, `\*`, `.*`)
	q = strings.ReplaceAll(q, `\?`, `.`)
	return regexp.MustCompile("^" + q + "$").MatchString(name)
}

// evalMaxRegression passes only when every matching benchmark is shown
// within the budget: the upper confidence bound of its change is at most
// Percent. A significant excess fails as slower; a change the rounds could
// not bound below the budget fails as inconclusive rather than pass, since
// a change lands only when every gate truly passes. A benchmark that ran on
// the baseline but not on the result fails: it cannot show a regression.
func evalMaxRegression(c *compiled, f benchstat.BenchFacts) factory.Verdict {
	names := make([]string, 0, len(f.Compare))
	for n := range f.Compare {
		if benchGlob(c.Bench, n) {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	var gone []string
	for _, n := range f.Missing {
		if benchGlob(c.Bench, n) {
			gone = append(gone, n+" ran on the baseline but not on the result (deleted, renamed, skipped or failing)")
		}
	}
	if len(names) == 0 && len(gone) == 0 {
		return factory.Verdict{Status: factory.VerdictError, Message: fmt.Sprintf("no benchmark matching %q ran on both trees", c.Bench)}
	}
	var slower, unsure, ok []string
	for _, n := range names {
		line, judged := benchstat.Judge(n, f.Compare[n], c.Percent)
		switch judged {
		case benchstat.Slower:
			slower = append(slower, line)
		case benchstat.Unsure:
			unsure = append(unsure, line)
		default:
			ok = append(ok, line)
		}
	}
	switch {
	case len(gone) > 0:
		return factory.Verdict{Status: factory.VerdictFail, Message: fmt.Sprintf("%d benchmark(s) did not run on the result", len(gone)), Evidence: slices.Concat(gone, slower, unsure)}
	case len(slower) > 0:
		return factory.Verdict{Status: factory.VerdictFail, Message: fmt.Sprintf("%d benchmark(s) slower by more than %g%%", len(slower), c.Percent), Evidence: slices.Concat(slower, unsure)}
	case len(unsure) > 0:
		return factory.Verdict{Status: factory.VerdictFail, Message: fmt.Sprintf("%d benchmark(s) inconclusive against the %g%% budget; raise count or benchtime", len(unsure), c.Percent), Evidence: slices.Concat(unsure, ok)}
	}
	return factory.Verdict{Status: factory.VerdictPass, Message: fmt.Sprintf("%d benchmark(s) within %g%%", len(ok), c.Percent), Evidence: ok}
}

// ImpliedRanSuffix names the invariant factory adds for each suite gate
// that no invariant of factory.yaml judges by its missing tests: gate
// "tests" gets "tests-all-ran". See impliedSuiteInvariants.
const ImpliedRanSuffix = "-all-ran"

// impliedSuiteInvariants returns the invariant "<gate>-all-ran" for every
// suite gate of cfg whose "<gate>.missing" no invariant in invs mentions:
// a suite passes only if every test it declares ran and no changed code
// forges a run, whatever factory.yaml says. A file that writes its own
// rule over <gate>.missing takes over (and may relax it).
func impliedSuiteInvariants(cfg *rules.Config, invs []rules.Invariant) []rules.Invariant {
	var out []rules.Invariant
	for _, g := range cfg.Gates {
		if g.Kind != rules.GateSuite {
			continue
		}
		taken := false
		for _, inv := range invs {
			taken = taken || inv.ID == g.Name+ImpliedRanSuffix || (inv.Kind == rules.InvExpr && strings.Contains(inv.Expr, g.Name+".missing"))
		}
		if taken {
			continue
		}
		// The census term is always true: it is there so the verdict's
		// evidence says how the tests were listed, or that they were not.
		expr := fmt.Sprintf(`%[1]s.census != "" && len(%[1]s.missing) == 0 && len(%[1]s.tampering) == 0`, g.Name)
		out = append(out, rules.Invariant{ID: g.Name + ImpliedRanSuffix, Kind: rules.InvExpr, Expr: expr})
	}
	return out
}
