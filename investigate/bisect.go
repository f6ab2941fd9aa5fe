package investigate

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/factory-dev/factory"
)

// Tree is one tree a search can probe: a commit or a snapshot.
type Tree struct {
	Ref      string    `json:"-"`                  // what Tests.Run is given: a commit id or a snapshot id
	Key      string    `json:"-"`                  // the content's id (git tree), for the verdict cache
	Commit   string    `json:"commit,omitempty"`   // for commits
	Subject  string    `json:"subject,omitempty"`  // for commits
	Time     time.Time `json:"time,omitzero"`      // for commits: committed at
	Snapshot string    `json:"snapshot,omitempty"` // for snapshots
}

// Name is how a probe names the tree: the commit (12 hex) or the snapshot id.
func (t Tree) Name() string {
	if t.Snapshot != "" {
		return t.Snapshot
	}
	if len(t.Commit) > 12 {
		return t.Commit[:12]
	}
	return t.Commit
}

// Trees lists and compares the trees of a search.
type Trees interface {
	// Between returns good, every tree after it up to bad, and bad, oldest
	// first: the first-parent commits, or the snapshots of a run in order.
	Between(ctx context.Context, good, bad string) ([]Tree, error)
	// Diff returns the change from one tree to the next, bounded.
	Diff(ctx context.Context, from, to Tree) (factory.SnapshotDiff, error)
}

// Tests runs the narrowed test selection once, fresh, on a tree.
type Tests interface {
	Run(ctx context.Context, t Tree) (factory.TestReport, error)
}

// Run is what one test run on a tree showed: the build broke (and the
// first build error, for the record), or these tests failed (failures
// that passed on the runner's own reruns are not listed: they are flakes,
// not the regression).
type Run struct {
	Broken  bool     `json:"broken,omitempty"`
	Error   string   `json:"error,omitempty"`
	Failing []string `json:"failing,omitempty"`
}

// Cache keeps the runs of one selection per tree, so that a repeated
// search is nearly free. Errors are the cache's own business: a lost
// entry costs a run, not a wrong answer.
type Cache interface {
	Runs(ctx context.Context, treeKey string) []Run
	Add(ctx context.Context, treeKey string, r Run)
}

// Verdicts of a probe.
const (
	Pass = "pass"
	Fail = "fail"
	Skip = "skip" // the selection does not build: never blamed
)

// Probe is one tree examined: its verdict and how many runs decided it
// (cached ones included).
type Probe struct {
	Tree     string        `json:"tree"`
	Verdict  string        `json:"verdict"`
	Runs     int           `json:"runs"`
	Cached   int           `json:"cached,omitempty"` // runs read from the run log, not run again
	Duration time.Duration `json:"time_ns"`
	Error    string        `json:"error,omitempty"` // for a skip: the first build error
}

// Finding is the result of a search.
type Finding struct {
	FirstBad Tree     `json:"first_bad"`
	LastGood Tree     `json:"last_good"`
	Targets  []string `json:"targets"` // the tests judged: failing at bad, passing at good
	// CouldBe lists the trees between last_good and first_bad that were
	// skipped: the regression may be in any of them, or in first_bad.
	CouldBe    []string             `json:"could_be,omitempty"`
	Diff       factory.SnapshotDiff `json:"diff"`
	Probes     []Probe              `json:"probes"`
	Confidence string               `json:"confidence"` // high, medium (skipped trees in between), low (runs disagreed)
}

// Search is a flake-aware bisection between two trees.
type Search struct {
	Trees Trees
	Tests Tests
	Cache Cache // nil: nothing cached
	// Progress, when set, is called after each probe.
	Progress func(done int, msg string)

	trees    []Tree
	runs     [][]Run // per tree index
	probes   map[int]int
	out      []Probe
	targets  map[string]bool
	disagree bool
}

// maxRuns bounds the runs of one tree: a verdict still tied after that
// many is taken as it stands (and the confidence says low).
const maxRuns = 4

// maxError bounds the build error a cached run keeps.
const maxError = 200

// Find searches for the first tree between good and bad where the tests
// failing at bad (and passing at good) fail. Errors: EINVALID when bad
// does not build, when no test fails at bad that passes at good, or when
// the range is empty; those of Trees and Tests otherwise.
func (s *Search) Find(ctx context.Context, good, bad string) (Finding, error) {
	trees, err := s.Trees.Between(ctx, good, bad)
	if err != nil {
		return Finding{}, err
	}
	if len(trees) < 2 {
		return Finding{}, factory.Errorf(factory.EINVALID, "good and bad are the same tree: nothing to search; pass an older good")
	}
	s.trees, s.runs, s.probes, s.out = trees, make([][]Run, len(trees)), map[int]int{}, nil
	if err := s.pickTargets(ctx); err != nil {
		return Finding{}, err
	}
	lo, hi, err := s.bisect(ctx, 0, len(trees)-1)
	if err != nil {
		return Finding{}, err
	}
	f := Finding{FirstBad: trees[hi], LastGood: trees[lo], Targets: sortedKeys(s.targets), Probes: s.out, Confidence: "high"}
	for i := lo + 1; i < hi; i++ {
		f.CouldBe = append(f.CouldBe, trees[i].Name())
	}
	switch {
	case s.disagree || s.mixed():
		f.Confidence = "low"
	case len(f.CouldBe) > 0:
		f.Confidence = "medium"
	}
	f.Diff, err = s.Trees.Diff(ctx, trees[lo], trees[hi])
	return f, err
}

// pickTargets runs bad twice and good once: the targets are the tests
// failing in every run at bad and in none at good, so that a test of the
// selection that fails now and then, at good as at bad, does not steer the
// search.
func (s *Search) pickTargets(ctx context.Context) error {
	bad, good := len(s.trees)-1, 0
	if err := s.probe(ctx, bad, 2, false); err != nil {
		return err
	}
	if s.verdict(bad) == Skip {
		return factory.Errorf(factory.EINVALID, "the selection does not build at bad (%s): %s; pass a bad tree where it builds and fails", s.trees[bad].Name(), s.runs[bad][0].Error)
	}
	s.targets = nil
	for _, r := range s.runs[bad] {
		if r.Broken {
			continue
		}
		if s.targets == nil {
			s.targets = map[string]bool{}
			for _, name := range r.Failing {
				s.targets[name] = true
			}
		}
		for name := range s.targets {
			if !slices.Contains(r.Failing, name) {
				delete(s.targets, name)
			}
		}
	}
	if err := s.probe(ctx, good, 1, false); err != nil {
		return err
	}
	if s.verdict(good) == Skip {
		return factory.Errorf(factory.EINVALID, "the selection does not build at good (%s): %s; pass a good tree where it builds and passes", s.trees[good].Name(), s.runs[good][0].Error)
	}
	for _, r := range s.runs[good] {
		for _, name := range r.Failing {
			delete(s.targets, name)
		}
	}
	if s.targets == nil {
		s.targets = map[string]bool{}
	}
	if len(s.targets) == 0 {
		return factory.Errorf(factory.EINVALID, "no test fails at bad (%s) every time that passes at good (%s): nothing to search; check the narrowing (package, test), or use flaky_check if the failure comes and goes", s.trees[bad].Name(), s.trees[good].Name())
	}
	s.note(good)
	s.note(bad)
	return nil
}

// bisect narrows [lo, hi] (lo passes, hi fails) to adjacent judged trees,
// then confirms both sides with a second run; a side that flips reopens
// the search.
func (s *Search) bisect(ctx context.Context, lo, hi int) (int, int, error) {
	for range len(s.trees) {
		for {
			mid := s.pick(lo, hi)
			if mid < 0 {
				break
			}
			if err := s.probe(ctx, mid, 1, true); err != nil {
				return 0, 0, err
			}
			switch s.verdict(mid) {
			case Pass:
				lo = mid
			case Fail:
				hi = mid
			}
		}
		for _, i := range []int{lo, hi} {
			if err := s.probe(ctx, i, 2, true); err != nil {
				return 0, 0, err
			}
		}
		if s.verdict(lo) == Pass && s.verdict(hi) == Fail {
			return lo, hi, nil
		}
		s.disagree = true
		if lo, hi = s.bounds(); lo < 0 {
			return 0, 0, factory.Errorf(factory.EINVALID, "good (%s) fails on a second run: the target tests are flaky there; run flaky_check on them first", s.trees[0].Name())
		}
	}
	return lo, hi, nil
}

// bounds returns the first failing tree and the last passing tree before
// it, from the verdicts so far.
func (s *Search) bounds() (lo, hi int) {
	hi = len(s.trees) - 1
	for i := range s.trees {
		if _, ok := s.probes[i]; ok && s.verdict(i) == Fail {
			hi = i
			break
		}
	}
	for lo = hi - 1; lo >= 0; lo-- {
		if _, ok := s.probes[lo]; ok && s.verdict(lo) == Pass {
			return lo, hi
		}
	}
	return -1, hi
}

// pick returns the tree to probe next between lo and hi: the middle one,
// or, when that one was skipped, the nearest one not yet judged (as git
// bisect skip does); -1 when none is left.
func (s *Search) pick(lo, hi int) int {
	mid := (lo + hi) / 2
	for d := 0; d < hi-lo; d++ {
		for _, i := range []int{mid - d, mid + d} {
			if i <= lo || i >= hi {
				continue
			}
			if _, judged := s.probes[i]; !judged {
				return i
			}
		}
	}
	return -1
}

// probe makes sure tree i has at least need runs (cached ones first),
// and more while its runs disagree, up to maxRuns. A broken build is run
// once more to confirm it (a build can also fail for want of a cache or a
// disk, which is not the tree's fault), then not again.
func (s *Search) probe(ctx context.Context, i, need int, report bool) error {
	t := s.trees[i]
	start := time.Now()
	if s.runs[i] == nil && s.Cache != nil {
		s.runs[i] = s.Cache.Runs(ctx, t.Key)
		s.cachedProbe(i)
	}
	for len(s.runs[i]) < maxRuns && (len(s.runs[i]) < need || s.unsure(i)) {
		if pass, fail, skip := s.votes(i); pass+fail == 0 && skip >= 2 {
			break
		}
		rep, err := s.Tests.Run(ctx, t)
		if err != nil {
			return factory.Wrap("probe "+t.Name(), err)
		}
		r := runOf(rep)
		s.runs[i] = append(s.runs[i], r)
		if s.Cache != nil {
			s.Cache.Add(ctx, t.Key, r)
		}
	}
	s.cachedProbe(i)
	s.out[s.probes[i]].Duration += time.Since(start)
	if report {
		s.note(i)
	}
	return nil
}

// cachedProbe remembers how many of tree i's runs came from the cache.
func (s *Search) cachedProbe(i int) {
	if _, ok := s.probes[i]; !ok {
		s.probes[i] = len(s.out)
		s.out = append(s.out, Probe{Tree: s.trees[i].Name(), Cached: len(s.runs[i])})
	}
}

// note brings tree i's probe entry up to date and reports progress.
func (s *Search) note(i int) {
	s.cachedProbe(i)
	p := &s.out[s.probes[i]]
	p.Runs, p.Verdict = len(s.runs[i]), s.verdict(i)
	if p.Verdict == Skip {
		p.Error = s.runs[i][0].Error
	}
	if s.Progress != nil {
		s.Progress(len(s.out), fmt.Sprintf("probe %d: %s %s (%d runs)", len(s.out), p.Tree, p.Verdict, p.Runs))
	}
}

// runOf reads one run off a report.
func runOf(rep factory.TestReport) Run {
	if len(rep.BuildErrors) > 0 || (rep.Status == factory.TestError && len(rep.Failures) == 0) {
		r := Run{Broken: true, Error: rep.Status}
		if len(rep.BuildErrors) > 0 {
			r.Error = rep.BuildErrors[0].Message
		} else if len(rep.Notes) > 0 {
			r.Error += ": " + strings.Join(rep.Notes, "; ")
		}
		if len(r.Error) > maxError {
			r.Error = r.Error[:maxError]
		}
		return r
	}
	var r Run
	for _, f := range rep.Failures {
		r.Failing = append(r.Failing, testKeys(f)...)
	}
	return r
}

// testKey names a test across runs: package and name.
func testKey(f factory.TestFailure) string {
	if f.Package == "" {
		return f.Name
	}
	return f.Package + "." + f.Name
}

// testKeys names every test of a failure entry: identical failures are
// grouped into one entry (factory.TestFailure.Names), and each counts.
func testKeys(f factory.TestFailure) []string {
	var out []string
	for _, n := range f.Names() {
		g := f
		g.Name = n
		out = append(out, testKey(g))
	}
	return out
}

// votes counts tree i's runs by verdict.
func (s *Search) votes(i int) (pass, fail, skip int) {
	for _, r := range s.runs[i] {
		switch {
		case r.Broken:
			skip++
		case slices.ContainsFunc(r.Failing, func(n string) bool { return s.targets[n] }):
			fail++
		default:
			pass++
		}
	}
	return pass, fail, skip
}

// verdict is the majority of tree i's runs; a tie leans to fail (the
// cautious side: a flaky target at the boundary is confirmed again).
func (s *Search) verdict(i int) string {
	pass, fail, skip := s.votes(i)
	switch {
	case pass == 0 && fail == 0 && skip > 0:
		return Skip
	case pass > fail:
		return Pass
	default:
		return Fail
	}
}

// unsure reports runs of tree i that disagree without a majority, or a
// single broken build not yet confirmed.
func (s *Search) unsure(i int) bool {
	pass, fail, skip := s.votes(i)
	if pass+fail == 0 {
		return skip == 1
	}
	return s.targets != nil && pass == fail
}

// mixed reports whether any probed tree had runs that disagreed.
func (s *Search) mixed() bool {
	for i := range s.probes {
		if pass, fail, _ := s.votes(i); pass > 0 && fail > 0 {
			return true
		}
	}
	return false
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
