package tools

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/factory-dev/factory"
	"github.com/factory-dev/factory/investigate"
	"github.com/factory-dev/factory/sandbox"
	"github.com/factory-dev/factory/sandbox/testrun"
	"github.com/factory-dev/factory/traces"
)

// This file adapts regression_find and flaky_check to investigate/: the
// trees are the workspace's commits and snapshots, a probe is a test_run
// on a snapshot in a fresh copy, and probe verdicts are blobs in the run
// log.

type regressionFindArgs struct {
	Good    string `json:"good" jsonschema:"revision or snapshot id where the test passes"`
	Bad     string `json:"bad,omitempty" jsonschema:"where it fails; default the live tree"`
	Suite   string `json:"suite,omitempty" jsonschema:"as in test_run"`
	Package string `json:"package,omitempty" jsonschema:"as in test_run"`
	Test    string `json:"test,omitempty" jsonschema:"as in test_run"`
}

type flakyCheckArgs struct {
	Suite   string `json:"suite,omitempty" jsonschema:"as in test_run"`
	Package string `json:"package,omitempty" jsonschema:"as in test_run"`
	Test    string `json:"test,omitempty" jsonschema:"as in test_run"`
	Runs    int    `json:"runs,omitempty" jsonschema:"default 20, at most 100"`
	Shuffle bool   `json:"shuffle,omitempty" jsonschema:"shuffle test order (Go)"`
}

// Bounds of a search and a check: each run is a whole (narrowed) test run.
const (
	maxHistory     = 1000 // first-parent commits a search walks
	defaultRuns    = 20
	maxFlakyRuns   = 100
	maxProbeDiff   = 4 << 10
	probeBlobKind  = "probe"
	probeBlobLabel = "regression_find probe"
)

func regressionFind(d Deps) Tool {
	tests := testrun.New(d.Workspace)
	return defineRecording(d, "regression_find",
		"Bisect commits or snapshots from good to bad for the change that broke a test; probes run in fresh sandboxed copies, unbuildable trees are skipped, verdicts cached.",
		annotations{title: "Find a regression", idempotent: true},
		func(ctx context.Context, a regressionFindArgs) (investigate.Finding, records, error) {
			if strings.TrimSpace(a.Good) == "" {
				return investigate.Finding{}, records{}, factory.Errorf(factory.EINVALID, "good is required: a revision or snapshot id where the test passes (snapshot_list lists snapshots)")
			}
			job, err := suiteJob(ctx, d, a.Suite, a.Package, a.Test)
			if err != nil {
				return investigate.Finding{}, records{}, err
			}
			tr := &probeTrees{ws: d.Workspace, snaps: map[string]string{}}
			s := &investigate.Search{
				Trees: tr,
				Tests: probeTests{trees: tr, tests: tests, job: job},
				Cache: probeCache{d: d, sel: selectionKey(job)},
			}
			if p := testProgress(ctx); p != nil {
				s.Progress = func(done int, msg string) { p(done, 0, msg) }
			}
			f, err := s.Find(ctx, a.Good, a.Bad)
			return f, records{snapshotIDs: tr.made()}, err
		})
}

// suiteJob is the test job of a selection, as test_run would run it.
func suiteJob(ctx context.Context, d Deps, suite, pkg, test string) (testrun.Job, error) {
	cfg, _, err := loadConfig(ctx, d)
	if err != nil {
		return testrun.Job{}, err
	}
	s, err := pickSuite(cfg, suite, d.Workspace.Root())
	if err != nil {
		return testrun.Job{}, err
	}
	// Narrowing is checked before any tree is touched.
	if _, err := testrun.NarrowArgv(s, pkg, test); err != nil {
		return testrun.Job{}, err
	}
	return testrun.Job{Suite: s, Policy: cfg.Sandbox, Request: factory.TestRequest{Suite: s.Name, Package: pkg, Test: test}}, nil
}

// selectionKey names what a probe runs, so that cached verdicts are only
// reused for the same command and narrowing.
func selectionKey(j testrun.Job) string {
	b, _ := json.Marshal([]any{j.Suite.Run, j.Suite.Format, j.Suite.Env, j.Request.Package, j.Request.Test})
	return string(b)
}

// probeTrees lists commits and snapshots as investigate.Trees, and makes
// the snapshot a probe of a commit runs on (one per commit, on demand).
type probeTrees struct {
	ws    *sandbox.Workspace
	mu    sync.Mutex
	snaps map[string]string // commit -> snapshot id
	live  string            // the snapshot of the live tree, when bad is the live tree
}

func isSnapshotID(s string) bool { return strings.HasPrefix(s, "s-") }

func (p *probeTrees) Between(ctx context.Context, good, bad string) ([]investigate.Tree, error) {
	if isSnapshotID(good) {
		return p.snapshotsBetween(ctx, good, bad)
	}
	// good is checked before the live tree is snapshotted: a bad argument
	// leaves the repository as it was.
	if _, err := p.ws.FirstParents(ctx, good, good, 1); err != nil {
		return nil, err
	}
	end, last := bad, investigate.Tree{}
	if bad == "" || isSnapshotID(bad) {
		snap, err := p.badSnapshot(ctx, bad)
		if err != nil {
			return nil, err
		}
		end, last = "HEAD", snapTree(snap)
		if bad != "" && snap.Parent != "" {
			end = snap.Parent
		}
	}
	cs, err := p.ws.FirstParents(ctx, good, end, maxHistory)
	if err != nil {
		return nil, err
	}
	out := make([]investigate.Tree, 0, len(cs)+1)
	for _, c := range cs {
		out = append(out, investigate.Tree{Ref: c.Commit, Key: c.Tree, Commit: c.Commit, Subject: c.Subject, Time: c.Time})
	}
	if last.Key != "" && last.Key != cs[len(cs)-1].Tree {
		out = append(out, last)
	}
	return out, nil
}

// badSnapshot is the snapshot bad names, or one of the live tree.
func (p *probeTrees) badSnapshot(ctx context.Context, bad string) (factory.Snapshot, error) {
	if bad == "" {
		snap, err := p.ws.Snapshot(ctx, probeBlobLabel)
		p.mu.Lock()
		p.live = snap.ID
		p.mu.Unlock()
		return snap, err
	}
	return p.ws.Resolve(ctx, bad)
}

func snapTree(s factory.Snapshot) investigate.Tree {
	return investigate.Tree{Ref: s.ID, Key: s.Tree, Snapshot: s.ID, Time: s.Created}
}

// snapshotsBetween lists the snapshots from good to bad in the order they
// were made, within bad's run when bad has one.
func (p *probeTrees) snapshotsBetween(ctx context.Context, good, bad string) ([]investigate.Tree, error) {
	g, err := p.ws.Resolve(ctx, good)
	if err != nil {
		return nil, err
	}
	b, err := p.badSnapshot(ctx, bad)
	if err != nil {
		return nil, err
	}
	if !b.Created.After(g.Created) {
		return nil, factory.Errorf(factory.EINVALID, "bad snapshot %s is not newer than good %s: pass them in the order they were made", b.ID, g.ID)
	}
	all, err := p.ws.Snapshots(ctx, sandbox.SnapshotFilter{RunID: b.RunID})
	if err != nil {
		return nil, err
	}
	out := []investigate.Tree{snapTree(g)}
	slices.SortFunc(all, func(x, y factory.Snapshot) int { return x.Created.Compare(y.Created) })
	for _, s := range all {
		if s.Created.After(g.Created) && s.Created.Before(b.Created) && s.Tree != out[len(out)-1].Key {
			out = append(out, snapTree(s))
		}
	}
	return append(out, snapTree(b)), nil
}

// made lists the snapshots the search made, for the run log.
func (p *probeTrees) made() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := append([]string(nil), p.live)
	for _, id := range p.snaps {
		out = append(out, id)
	}
	slices.Sort(out)
	return out
}

// snapshot returns the snapshot a probe of t runs on.
func (p *probeTrees) snapshot(ctx context.Context, t investigate.Tree) (string, error) {
	if t.Snapshot != "" {
		return t.Snapshot, nil
	}
	p.mu.Lock()
	id, ok := p.snaps[t.Commit]
	p.mu.Unlock()
	if ok {
		return id, nil
	}
	s, err := p.ws.SnapshotRevision(ctx, t.Commit, probeBlobLabel)
	if err != nil {
		return "", err
	}
	p.mu.Lock()
	p.snaps[t.Commit] = s.ID
	p.mu.Unlock()
	return s.ID, nil
}

func (p *probeTrees) Diff(ctx context.Context, from, to investigate.Tree) (factory.SnapshotDiff, error) {
	a, err := p.snapshot(ctx, from)
	if err != nil {
		return factory.SnapshotDiff{}, err
	}
	b, err := p.snapshot(ctx, to)
	if err != nil {
		return factory.SnapshotDiff{}, err
	}
	return p.ws.Diff(ctx, a, b, maxProbeDiff)
}

// probeTests runs the narrowed suite on a tree, in a fresh copy.
type probeTests struct {
	trees *probeTrees
	tests *testrun.Runner
	job   testrun.Job
}

func (p probeTests) Run(ctx context.Context, t investigate.Tree) (factory.TestReport, error) {
	id, err := p.trees.snapshot(ctx, t)
	if err != nil {
		return factory.TestReport{}, err
	}
	j := p.job
	j.Request.Snapshot = id
	rep, _, err := p.tests.Run(ctx, j)
	return rep, err
}

// probeCache keeps a selection's runs per tree as a blob of the run log,
// "probe-<hash of selection and tree>".
type probeCache struct {
	d   Deps
	sel string
}

func (c probeCache) id(tree string) string {
	h := sha256.Sum256([]byte(c.sel + "\x00" + tree))
	return "probe-" + hex.EncodeToString(h[:12])
}

func (c probeCache) Runs(ctx context.Context, tree string) []investigate.Run {
	if c.d.Store == nil {
		return nil
	}
	_, data, err := c.d.Store.Blob(ctx, c.id(tree))
	if err != nil {
		return nil
	}
	var rs []investigate.Run
	if json.Unmarshal(data, &rs) != nil {
		return nil
	}
	return rs
}

func (c probeCache) Add(ctx context.Context, tree string, r investigate.Run) {
	if c.d.Store == nil {
		return
	}
	b, _ := json.Marshal(append(c.Runs(ctx, tree), r))
	if err := c.d.Store.PutBlob(ctx, c.id(tree), probeBlobKind, b); err != nil {
		c.d.Log.Warn("regression_find: verdict not cached", "err", err)
	}
}

func flakyCheck(d Deps) Tool {
	tests := testrun.New(d.Workspace)
	return define(d, "flaky_check",
		"Run tests many times, each fresh; class each flaky, failing or passing, with its failure rate, 95% interval and grouped messages.",
		annotations{title: "Check for flaky tests", readOnly: true},
		func(ctx context.Context, a flakyCheckArgs) (investigate.Flakiness, error) {
			n := a.Runs
			switch {
			case n == 0:
				n = defaultRuns
			case n < 0 || n > maxFlakyRuns:
				return investigate.Flakiness{}, factory.Errorf(factory.EINVALID, "runs %d: give 1 to %d (each run is a whole test run), or omit it for %d", n, maxFlakyRuns, defaultRuns)
			}
			job, err := suiteJob(ctx, d, a.Suite, a.Package, a.Test)
			if err != nil {
				return investigate.Flakiness{}, err
			}
			job.Request.Reruns = -1 // a rerun that passes would hide the flake
			if a.Shuffle && job.Suite.Format == factory.FormatGoJSON {
				job.Suite.Run = shuffled(job.Suite.Run)
			}
			run := func(ctx context.Context, _ int) (factory.TestReport, error) {
				rep, _, err := tests.Run(ctx, job)
				return rep, err
			}
			var progress func(done, total int)
			if p := testProgress(ctx); p != nil {
				progress = func(done, total int) { p(done, total, "run") }
			}
			return investigate.Check(ctx, n, run, runLogHistory{d}, progress)
		})
}

// shuffled adds go test's -shuffle=on after the test verb.
func shuffled(argv []string) []string {
	i := slices.Index(argv, "test")
	if i < 0 {
		return argv
	}
	return slices.Concat(argv[:i+1], []string{"-shuffle=on"}, argv[i+1:])
}

// runLogHistory reads a test's earlier failures from the run log's test
// runs.
type runLogHistory struct{ d Deps }

// maxEarlier bounds the earlier outcomes listed per test.
const maxEarlier = 5

func (h runLogHistory) Earlier(ctx context.Context, test string) []investigate.Outcome {
	if h.d.Store == nil {
		return nil
	}
	page, err := h.d.Store.Query(ctx, traces.Query{Kind: traces.KindTestRuns, Limit: 50})
	if err != nil {
		return nil
	}
	var out []investigate.Outcome
	for _, tr := range page.TestRuns {
		for _, f := range tr.Failures {
			if f.Package+"."+f.Name == test || f.Name == test {
				st := "failed"
				if f.Flaky {
					st = "flaky"
				}
				out = append(out, investigate.Outcome{TestRun: tr.ID, Status: st, At: tr.Created.UTC().Format(time.RFC3339)})
				break
			}
		}
		if len(out) == maxEarlier {
			break
		}
	}
	return out
}
