package invariants

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/factory-dev/factory"
	"github.com/factory-dev/factory/invariants/benchstat"
	"github.com/factory-dev/factory/invariants/gates"
	"github.com/factory-dev/factory/invariants/rules"
)

// ControllerConfig configures a Controller.
type ControllerConfig struct {
	// Workspace is the sandbox's workspace, adapted. Required.
	Workspace Workspace
	// Runner runs gate commands confined. Required.
	Runner gates.Runner
	// Steps records each phase as a child step. Nil records nothing.
	Steps Steps
	// CacheDir holds gate facts and verdicts as small JSON files, so an
	// unchanged tree is not re-run by a later process (cmd/factory passes
	// .git/factory/cache). Empty means an in-memory cache only.
	CacheDir string
	// Logger receives diagnostics. Nil means slog.Default().
	Logger *slog.Logger
	// ConfigRev is the revision factory.yaml is read from: a ref only a
	// person moves (a protected branch) hardens the rules further. Empty
	// means HEAD. The working tree's copy is never read for a verdict.
	ConfigRev string
}

// Controller evaluates factory.yaml's invariants (Check) and gates changes
// into the live tree (Propose). It is safe for concurrent use.
type Controller struct {
	cfg ControllerConfig
	log *slog.Logger

	mu       sync.Mutex
	facts    map[string]gates.Outcome     // cache key -> outcome
	verdicts map[string][]factory.Verdict // cache key -> verdicts
	plans    map[string]*plan             // config hash -> plan
	configs  map[string]*rules.Config     // sha256 of factory.yaml's bytes -> config
}

// New returns a Controller. It fails with EINVALID when Workspace or gates.Runner
// is missing.
func New(cfg ControllerConfig) (*Controller, error) {
	if cfg.Workspace == nil || cfg.Runner == nil {
		return nil, factory.Errorf(factory.EINVALID, "invariants controller needs a Workspace and a Runner")
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Controller{cfg: cfg, log: log, facts: map[string]gates.Outcome{}, verdicts: map[string][]factory.Verdict{},
		plans: map[string]*plan{}, configs: map[string]*rules.Config{}}, nil
}

// CheckRequest asks for the invariants to be evaluated on one tree.
type CheckRequest struct {
	Snapshot string // the tree to check (snapshot id or revision); "" means the live tree (snapshotted first)
	Baseline string // a snapshot id or revision to compare with (baseline.*, diff.*, protect); "" means HEAD's tree
	NoCache  bool   // re-run every gate even if this tree was checked before
}

// CheckResult is the outcome of Check.
type CheckResult struct {
	Snapshot string `json:"snapshot"`           // the tree checked
	Baseline string `json:"baseline,omitempty"` // the tree compared with
	Config   string `json:"config"`             // sha256 of the factory.yaml used (as committed)
	// ConfigNote is UncommittedNote when the working tree's factory.yaml
	// differs from the committed one the verdicts used.
	ConfigNote string `json:"config_note,omitempty"`
	// Passed means every invariant was evaluated and passed: none failed,
	// errored or was skipped.
	Passed   bool              `json:"passed"`
	Cached   bool              `json:"cached,omitempty"` // the verdicts came from the cache
	Verdicts []factory.Verdict `json:"verdicts"`
}

// Check evaluates every invariant on a tree, in an isolated copy, never in
// the live tree, against a baseline (HEAD's tree unless one is given, so
// protect, diff.* and baseline.* are always evaluated). factory.yaml is
// read as committed (ConfigRev, HEAD by default), never from the tree
// checked nor the baseline: an older tree is judged by today's rules.
// Verdicts are cached by tree, baseline tree and config hash
// (unless a gate failed to produce facts), gate facts by tree and gate.
// Errors: ENOTFOUND for an unknown snapshot or an uncommitted
// factory.yaml, EINVALID for a malformed one; failing invariants are not
// errors.
func (c *Controller) Check(ctx context.Context, req CheckRequest) (CheckResult, error) {
	cfg, note, err := c.rules(ctx)
	if err != nil {
		return CheckResult{}, factory.Wrap("check", err)
	}
	target, base, err := c.checkTrees(ctx, req)
	if err != nil {
		return CheckResult{}, factory.Wrap("check", err)
	}
	p := c.plan(cfg)
	res := CheckResult{Snapshot: target.ID, Config: cfg.Hash, ConfigNote: note}
	baseTree := ""
	if base != nil {
		res.Baseline, baseTree = base.ID, base.Tree
	}
	vkey := cacheKey("verdicts", cfg.Hash, target.Tree, baseTree)
	if !req.NoCache {
		if vs, ok := c.cachedVerdicts(vkey); ok {
			res.Verdicts, res.Cached, res.Passed = vs, true, passed(vs)
			return res, nil
		}
	}
	var diff *gates.DiffFacts
	if base != nil {
		if diff, err = c.diffFacts(ctx, base.ID, target.ID); err != nil {
			return CheckResult{}, factory.Wrap("check", err)
		}
	}
	gs := p.gates
	if base != nil {
		gs = unpaired(gs)
	}
	facts, err := c.gatesOn(ctx, p, target, gs, diff, req.NoCache, "")
	if err != nil {
		return CheckResult{}, factory.Wrap("check", err)
	}
	var baseFacts gates.TreeFacts
	if base != nil {
		if baseFacts, err = c.gatesOn(ctx, p, *base, unpaired(p.gatesNamed(p.baseGates)), nil, req.NoCache, "baseline "); err != nil {
			return CheckResult{}, factory.Wrap("check", err)
		}
		if err := c.pairedBenches(ctx, p, *base, target, "", diff, facts, baseFacts, req.NoCache); err != nil {
			return CheckResult{}, factory.Wrap("check", err)
		}
		applyBaseline(p, facts, baseFacts)
	}
	ectx, end := begin(c.cfg.Steps, ctx, "evaluate")
	_ = ectx
	res.Verdicts = p.evaluateAll(evalInput{facts: facts, base: baseFacts, diff: diff}, nil)
	end(nil)
	res.Passed = passed(res.Verdicts)
	cacheable := true
	for _, tf := range []gates.TreeFacts{facts, baseFacts} {
		for _, o := range tf {
			// a gate error may be the machine's (a timeout, a missing
			// tool): try again next time rather than remember it
			cacheable = cacheable && o.Err == ""
		}
	}
	if cacheable {
		c.storeVerdicts(vkey, res.Verdicts)
	}
	return res, nil
}

// checkTrees resolves the tree a check judges and its baseline (HEAD's
// tree when none is named); either may be a snapshot id or a revision.
func (c *Controller) checkTrees(ctx context.Context, req CheckRequest) (target factory.Snapshot, base *factory.Snapshot, err error) {
	ws := c.cfg.Workspace
	sctx, end := begin(c.cfg.Steps, ctx, "snapshot")
	defer func() { end(err) }()
	if req.Snapshot == "" {
		target, err = ws.Snapshot(sctx, "check")
	} else {
		target, err = ws.ResolveTree(sctx, req.Snapshot)
	}
	if err != nil {
		return target, nil, err
	}
	var b factory.Snapshot
	if req.Baseline != "" {
		b, err = ws.ResolveTree(sctx, req.Baseline)
	} else {
		b, err = ws.SnapshotRevision(sctx, "HEAD", "check baseline HEAD")
	}
	return target, &b, err
}

// passed reports whether every verdict passed: a skipped invariant was not
// evaluated, so it never counts as passed.
func passed(vs []factory.Verdict) bool {
	for _, v := range vs {
		if v.Status != factory.VerdictPass {
			return false
		}
	}
	return true
}

// Failing returns the verdicts that failed or errored.
func Failing(vs []factory.Verdict) []factory.Verdict {
	var out []factory.Verdict
	for _, v := range vs {
		if v.Failing() {
			out = append(out, v)
		}
	}
	return out
}

// evaluateAll evaluates every invariant in order; those in skip get a
// skipped verdict naming why.
func (p *plan) evaluateAll(in evalInput, skip map[string]string) []factory.Verdict {
	out := make([]factory.Verdict, 0, len(p.invs))
	for _, inv := range p.invs {
		if why, ok := skip[inv.ID]; ok {
			out = append(out, factory.Verdict{ID: inv.ID, Status: factory.VerdictSkipped, Message: why})
			continue
		}
		out = append(out, p.evaluate(inv, in))
	}
	return out
}

// pairable reports whether a gate runs on the base and the result
// alternately when both are there (bench gates without their own command).
func pairable(g rules.Gate) bool { return g.Kind == rules.GateBench && g.Run == nil }

// unpaired returns the gates that are not pairable.
func unpaired(gs []rules.Gate) []rules.Gate {
	var out []rules.Gate
	for _, g := range gs {
		if !pairable(g) {
			out = append(out, g)
		}
	}
	return out
}

type pairedFile struct {
	Base   benchstat.BenchFacts `json:"base"`
	Result benchstat.BenchFacts `json:"result"`
}

// pairedBenches runs the pairable bench gates on base and result
// alternately (see gates.PairedBench), cached by both trees. resultDir, when not
// empty, is an isolated copy of result to use; diff, when known, is the
// change from base to result.
func (c *Controller) pairedBenches(ctx context.Context, p *plan, base, result factory.Snapshot, resultDir string, diff *gates.DiffFacts, facts, baseFacts gates.TreeFacts, noCache bool) error {
	var todo []rules.Gate
	for _, g := range p.gates {
		if !pairable(g) {
			continue
		}
		gj, _ := json.Marshal(g)
		pj, _ := json.Marshal(p.cfg.Sandbox)
		key := cacheKey("paired", base.Tree, result.Tree, string(gj), string(pj))
		if data, err := c.readCache("bench-" + key + ".json"); err == nil && !noCache {
			var pf pairedFile
			if json.Unmarshal(data, &pf) == nil {
				facts[g.Name], baseFacts[g.Name] = gates.Outcome{Facts: pf.Result}, gates.Outcome{Facts: pf.Base}
				continue
			}
		}
		c.mu.Lock()
		o, ok := c.facts[key]
		c.mu.Unlock()
		if ok && !noCache {
			pf := o.Facts.(pairedFile)
			facts[g.Name], baseFacts[g.Name] = gates.Outcome{Facts: pf.Result}, gates.Outcome{Facts: pf.Base}
			continue
		}
		todo = append(todo, g)
	}
	if len(todo) == 0 {
		return nil
	}
	isolate := func(s factory.Snapshot, prefix string) (string, func(), error) {
		ictx, end := begin(c.cfg.Steps, ctx, prefix+"isolate")
		cp, err := c.cfg.Workspace.Isolate(ictx, s.ID)
		end(err)
		if err != nil {
			return "", nil, err
		}
		d := cp.Dir()
		return d, func() {
			if err := cp.Close(); err != nil {
				c.log.Warn("release isolated copy", "dir", d, "err", err)
			}
		}, nil
	}
	baseDir, releaseBase, err := isolate(base, "baseline ")
	if err != nil {
		return err
	}
	defer releaseBase()
	if resultDir == "" {
		var releaseResult func()
		if resultDir, releaseResult, err = isolate(result, ""); err != nil {
			return err
		}
		defer releaseResult()
	}
	br := gates.NewTree(c.cfg.Runner, baseDir, base.ID, p.cfg, nil)
	rr := gates.NewTree(c.cfg.Runner, resultDir, result.ID, p.cfg, diff)
	for _, g := range todo {
		gctx, end := begin(c.cfg.Steps, ctx, "gate "+g.Name+" (paired with baseline)")
		start := time.Now()
		fb, fr, err := gates.PairedBench(gctx, br, rr, g)
		took := time.Since(start)
		end(err)
		if ctx.Err() != nil {
			return factory.Errorf(factory.ETIMEOUT, "gates cancelled: %v", ctx.Err())
		}
		if err != nil {
			msg := factory.ErrorMessage(err)
			facts[g.Name], baseFacts[g.Name] = gates.Outcome{Err: msg, Duration: took}, gates.Outcome{Err: msg}
			continue
		}
		facts[g.Name], baseFacts[g.Name] = gates.Outcome{Facts: fr, Duration: took}, gates.Outcome{Facts: fb}
		gj, _ := json.Marshal(g)
		pj, _ := json.Marshal(p.cfg.Sandbox)
		key := cacheKey("paired", base.Tree, result.Tree, string(gj), string(pj))
		pf := pairedFile{Base: fb, Result: fr}
		c.mu.Lock()
		c.facts[key] = gates.Outcome{Facts: pf}
		c.mu.Unlock()
		if data, err := json.Marshal(pf); err == nil {
			c.writeCache("bench-"+key+".json", data)
		}
	}
	return nil
}

// applyBaseline fills what compares with the baseline: bench comparisons
// from the baseline's samples (for bench gates that were not run paired)
// and a suite's new and already-failing tests.
func applyBaseline(p *plan, facts, base gates.TreeFacts) {
	for _, g := range p.gates {
		if g.Kind == rules.GateSuite {
			cur, ok1 := facts[g.Name].Facts.(gates.SuiteFacts)
			old, ok2 := base[g.Name].Facts.(gates.SuiteFacts)
			if ok1 && ok2 {
				facts[g.Name] = gates.Outcome{Facts: gates.CompareFailures(cur, old), Duration: facts[g.Name].Duration}
			}
			continue
		}
		if g.Kind != rules.GateBench || pairable(g) {
			continue
		}
		cur, ok1 := facts[g.Name].Facts.(benchstat.BenchFacts)
		old, ok2 := base[g.Name].Facts.(benchstat.BenchFacts)
		if ok1 && ok2 {
			facts[g.Name] = gates.Outcome{Facts: benchstat.Compare(cur, old), Duration: facts[g.Name].Duration}
		}
	}
}

func (p *plan) gatesNamed(names map[string]bool) []rules.Gate {
	var out []rules.Gate
	for _, g := range p.gates {
		if names[g.Name] {
			out = append(out, g)
		}
	}
	return out
}

func (c *Controller) plan(cfg *rules.Config) *plan {
	c.mu.Lock()
	defer c.mu.Unlock()
	if p, ok := c.plans[cfg.Hash]; ok {
		return p
	}
	p := newPlan(cfg)
	c.plans[cfg.Hash] = p
	return p
}

// Rules returns factory.yaml as committed at ConfigRev (HEAD by default),
// the rules every verdict uses, parsed once per content; note is
// UncommittedNote when the working copy differs. Errors as LoadTrusted.
func (c *Controller) Rules(ctx context.Context) (cfg *rules.Config, note string, err error) {
	return c.rules(ctx)
}

// RulesOrDetect is Rules with LoadOrDetect's fallback: without a committed
// factory.yaml, the default rules with the suites detect proposes for the
// workspace.
func (c *Controller) RulesOrDetect(ctx context.Context, detect func(root string) []factory.Suite) (cfg *rules.Config, note string, err error) {
	cfg, note, err = c.rules(ctx)
	return rules.OrDetect(cfg, note, err, c.cfg.Workspace.Root(), detect)
}

func (c *Controller) rules(ctx context.Context) (*rules.Config, string, error) {
	data, note, err := rules.ReadTrusted(ctx, c.cfg.Workspace, c.cfg.Workspace.Root(), c.cfg.ConfigRev)
	if err != nil {
		return nil, "", err
	}
	key := cacheKey("config", string(data))
	c.mu.Lock()
	cfg, ok := c.configs[key]
	c.mu.Unlock()
	if ok {
		return cfg, note, nil
	}
	if cfg, err = rules.Parse(rules.ConfigFile, data); err != nil {
		return nil, "", err
	}
	c.mu.Lock()
	c.configs[key] = cfg
	c.mu.Unlock()
	return cfg, note, nil
}

// diffFacts computes diff.* between two snapshots.
func (c *Controller) diffFacts(ctx context.Context, from, to string) (*gates.DiffFacts, error) {
	ctx, end := begin(c.cfg.Steps, ctx, "diff")
	d, err := c.cfg.Workspace.Diff(ctx, from, to, 1)
	var patch string
	if err == nil && len(d.Files) > 0 {
		patch, err = c.cfg.Workspace.FullDiff(ctx, from, to)
	}
	end(err)
	if err != nil {
		return nil, err
	}
	return gates.BuildDiffFacts(d.Files, patch), nil
}

// gatesOn runs gates on a snapshot's tree, reusing cached facts; it
// isolates the snapshot only when some gate must actually run. dir, when
// not empty, is an existing isolated copy of the snapshot to use.
func (c *Controller) gatesOn(ctx context.Context, p *plan, s factory.Snapshot, gs []rules.Gate, diff *gates.DiffFacts, noCache bool, prefix string) (gates.TreeFacts, error) {
	return c.gatesIn(ctx, p, s, "", gs, diff, noCache, prefix)
}

func (c *Controller) gatesIn(ctx context.Context, p *plan, s factory.Snapshot, dir string, gs []rules.Gate, diff *gates.DiffFacts, noCache bool, prefix string) (gates.TreeFacts, error) {
	out := gates.TreeFacts{}
	var todo []rules.Gate
	for _, g := range gs {
		if o, ok := c.cachedFacts(p, g, factsTree(g, s.Tree, diff)); ok && !noCache {
			out[g.Name] = o
			continue
		}
		todo = append(todo, g)
	}
	if len(todo) == 0 {
		return out, nil
	}
	if dir == "" && needsTree(todo) {
		ictx, end := begin(c.cfg.Steps, ctx, prefix+"isolate")
		cp, err := c.cfg.Workspace.Isolate(ictx, s.ID)
		end(err)
		if err != nil {
			return nil, err
		}
		d := cp.Dir()
		defer func() {
			if err := cp.Close(); err != nil {
				c.log.Warn("release isolated copy", "dir", d, "err", err)
			}
		}()
		dir = d
	}
	gctx, endAll := begin(c.cfg.Steps, ctx, prefix+"gates")
	defer endAll(nil)
	run := gates.NewTree(c.cfg.Runner, dir, s.ID, p.cfg, diff)
	for _, g := range todo {
		if err := gctx.Err(); err != nil {
			return nil, factory.Errorf(factory.ETIMEOUT, "gates cancelled: %v", err)
		}
		stepCtx, end := begin(c.cfg.Steps, gctx, prefix+"gate "+g.Name)
		start := time.Now()
		o := run.Run(stepCtx, g)
		o.Duration = time.Since(start)
		var stepErr error
		if o.Err != "" {
			stepErr = factory.Errorf(factory.EINVALID, "%s", o.Err)
		}
		end(stepErr)
		if ctx.Err() != nil {
			return nil, factory.Errorf(factory.ETIMEOUT, "gates cancelled: %v", ctx.Err())
		}
		out[g.Name] = o
		if o.Err == "" {
			c.storeFacts(p, g, factsTree(g, s.Tree, diff), o)
		}
	}
	return out, nil
}

// needsTree reports whether any gate reads files (all but added-line patterns).
func needsTree(gs []rules.Gate) bool {
	for _, g := range gs {
		if !(g.Kind == rules.GatePattern && g.Scope != rules.ScopeFiles) {
			return true
		}
	}
	return false
}

func cacheKey(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))[:32]
}

// factsTree is what a gate's cached facts are keyed on besides the gate:
// the tree, and for a suite gate also the change that led to it, since its
// census facts (tests.deleted, tests.tampering) are judged against the base
// the diff came from. The same result tree reached from another base must
// not reuse them.
func factsTree(g rules.Gate, tree string, diff *gates.DiffFacts) string {
	if g.Kind != rules.GateSuite || diff == nil || diff.Patch() == "" {
		return tree
	}
	return tree + "@" + cacheKey("diff", diff.Patch())
}

// gateKey identifies a gate's facts on a tree: the tree, the gate's
// definition, the sandbox policy and, for suite gates, the suite. Pattern
// gates over added lines depend on the diff and are never cached.
func gateKey(p *plan, g rules.Gate, tree string) (string, bool) {
	if g.Kind == rules.GatePattern && g.Scope != rules.ScopeFiles {
		return "", false
	}
	gj, _ := json.Marshal(g)
	pj, _ := json.Marshal(p.cfg.Sandbox)
	var sj []byte
	for _, s := range p.cfg.Suites {
		if g.Kind == rules.GateSuite && s.Name == g.Suite {
			sj, _ = json.Marshal(s)
		}
	}
	return cacheKey("facts", tree, string(gj), string(pj), string(sj)), true
}

type factsFile struct {
	Kind  string          `json:"kind"`
	Facts json.RawMessage `json:"facts"`
}

func (c *Controller) cachedFacts(p *plan, g rules.Gate, tree string) (gates.Outcome, bool) {
	key, ok := gateKey(p, g, tree)
	if !ok {
		return gates.Outcome{}, false
	}
	c.mu.Lock()
	o, ok := c.facts[key]
	c.mu.Unlock()
	if ok {
		return o, true
	}
	data, err := c.readCache("facts-" + key + ".json")
	if err != nil {
		return gates.Outcome{}, false
	}
	var ff factsFile
	if json.Unmarshal(data, &ff) != nil || ff.Kind != g.Kind {
		return gates.Outcome{}, false
	}
	v, err := gates.DecodeFacts(g.Kind, ff.Facts)
	if err != nil {
		return gates.Outcome{}, false
	}
	o = gates.Outcome{Facts: v}
	c.mu.Lock()
	c.facts[key] = o
	c.mu.Unlock()
	return o, true
}

func (c *Controller) storeFacts(p *plan, g rules.Gate, tree string, o gates.Outcome) {
	key, ok := gateKey(p, g, tree)
	if !ok {
		return
	}
	c.mu.Lock()
	c.facts[key] = o
	c.mu.Unlock()
	raw, err := json.Marshal(o.Facts)
	if err != nil {
		return
	}
	data, _ := json.Marshal(factsFile{Kind: g.Kind, Facts: raw})
	c.writeCache("facts-"+key+".json", data)
}

func (c *Controller) cachedVerdicts(key string) ([]factory.Verdict, bool) {
	c.mu.Lock()
	vs, ok := c.verdicts[key]
	c.mu.Unlock()
	if ok {
		return vs, true
	}
	data, err := c.readCache("verdicts-" + key + ".json")
	if err != nil || json.Unmarshal(data, &vs) != nil {
		return nil, false
	}
	c.mu.Lock()
	c.verdicts[key] = vs
	c.mu.Unlock()
	return vs, true
}

func (c *Controller) storeVerdicts(key string, vs []factory.Verdict) {
	c.mu.Lock()
	c.verdicts[key] = vs
	c.mu.Unlock()
	if data, err := json.Marshal(vs); err == nil {
		c.writeCache("verdicts-"+key+".json", data)
	}
}

func (c *Controller) readCache(name string) ([]byte, error) {
	if c.cfg.CacheDir == "" {
		return nil, fs.ErrNotExist
	}
	r, err := os.OpenRoot(c.cfg.CacheDir)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return r.ReadFile(name)
}

// writeCache writes a cache file atomically (temp file, rename) through
// os.Root. Failures are logged: the cache is an optimisation.
func (c *Controller) writeCache(name string, data []byte) {
	if c.cfg.CacheDir == "" {
		return
	}
	err := func() error {
		if err := os.MkdirAll(c.cfg.CacheDir, 0o755); err != nil {
			return err
		}
		r, err := os.OpenRoot(c.cfg.CacheDir)
		if err != nil {
			return err
		}
		defer r.Close()
		tmp := fmt.Sprintf(".%s.%d.tmp", name, os.Getpid())
		if err := r.WriteFile(tmp, data, 0o644); err != nil {
			return err
		}
		return r.Rename(tmp, name)
	}()
	if err != nil {
		c.log.Warn("write invariants cache", "dir", c.cfg.CacheDir, "err", err)
	}
}

// Plan describes what a factory.yaml declares, for invariant_list.
type Plan struct {
	Config     string          `json:"config"`                // sha256 of the file (as committed)
	ConfigNote string          `json:"config_note,omitempty"` // UncommittedNote when the working copy differs
	Gates      []GateInfo      `json:"gates"`
	Invariants []InvariantInfo `json:"invariants"`
}

// GateInfo is one gate, described.
type GateInfo struct {
	Name   string `json:"name"`
	Kind   string `json:"kind"`
	Detail string `json:"detail"`
}

// InvariantInfo is one invariant, described.
type InvariantInfo struct {
	ID       string   `json:"id"`
	Kind     string   `json:"kind"`
	Detail   string   `json:"detail"`
	Gates    []string `json:"gates,omitempty"`    // gates it reads
	Baseline bool     `json:"baseline,omitempty"` // it compares with a baseline
	Implicit bool     `json:"implicit,omitempty"` // added by factory, not written in the file
}

// Describe lists cfg's gates and invariants (including the implicit
// protection of factory.yaml) as invariant_list shows them.
func Describe(cfg *rules.Config) Plan {
	p := newPlan(cfg)
	out := Plan{Config: cfg.Hash, Gates: []GateInfo{}, Invariants: []InvariantInfo{}}
	for _, g := range cfg.Gates {
		var d string
		switch g.Kind {
		case rules.GateSuite:
			d = "suite " + g.Suite
		case rules.GateCommand:
			d = strings.Join(g.Run, " ")
		case rules.GateGoImports:
			d = "go list " + strings.Join(gates.PackagesOr(g.Packages), " ")
		case rules.GateJSImports, rules.GatePyImports:
			d = g.Kind + " " + strings.Join(orAll(g.In), " ")
		case rules.GatePattern:
			d = fmt.Sprintf("%q in %s (%s)", g.Regex, strings.Join(orAll(g.In), ", "), g.Scope)
		case rules.GateCoverage, rules.GateBench:
			d = strings.Join(gates.PackagesOr(g.Packages), " ")
			if g.Run != nil {
				d = strings.Join(g.Run, " ")
			}
		}
		out.Gates = append(out.Gates, GateInfo{Name: g.Name, Kind: g.Kind, Detail: d})
	}
	for _, inv := range p.invs {
		var d string
		switch inv.Kind {
		case rules.InvExpr:
			d = inv.Expr
		case rules.InvDenyImports:
			d = strings.Join(inv.From, ", ") + " may not import " + strings.Join(inv.To, ", ")
		case rules.InvProtect:
			d = strings.Join(inv.Globs, ", ")
		case rules.InvForbid:
			d = fmt.Sprintf("%q in %s (%s)", inv.Pattern, strings.Join(orAll(inv.In), ", "), inv.Scope)
		case rules.InvMaxRegression:
			d = fmt.Sprintf("%s at most %g%% slower", inv.Bench, inv.Percent)
		}
		var names []string
		for _, r := range inv.refs {
			if !strings.HasPrefix(r, "forbid:") {
				names = append(names, r)
			}
		}
		sort.Strings(names)
		out.Invariants = append(out.Invariants, InvariantInfo{ID: inv.ID, Kind: inv.Kind, Detail: d, Gates: names,
			Baseline: len(inv.baseRefs) > 0, Implicit: inv.Line == 0 && (inv.ID == ImplicitProtectID || strings.HasSuffix(inv.ID, ImpliedRanSuffix))})
	}
	return out
}

func orAll(g []string) []string {
	if len(g) == 0 {
		return []string{"**"}
	}
	return g
}
