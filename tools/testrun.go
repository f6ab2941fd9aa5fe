package tools

import (
	"context"

	"github.com/factory-dev/factory"
	"github.com/factory-dev/factory/invariants/rules"
	"github.com/factory-dev/factory/sandbox/testrun"
)

type testRunArgs struct {
	Suite    string `json:"suite,omitempty" jsonschema:"suite name from factory.yaml; omit for the first suite"`
	Package  string `json:"package,omitempty" jsonschema:"narrow to a package or path, relative to the root (Go: ./pkg/...)"`
	Test     string `json:"test,omitempty" jsonschema:"narrow to tests matching this name pattern (Go: a -run regexp)"`
	Reruns   int    `json:"reruns,omitempty" jsonschema:"reruns of each failing test to tell flaky from broken (default 2, max 10, -1 none)"`
	InPlace  bool   `json:"in_place,omitempty" jsonschema:"run in the live tree, not a copy (not recommended): the suite's writes land in your files; .git stays read-only"`
	Snapshot string `json:"snapshot,omitempty" jsonschema:"run on this snapshot id or git revision instead of the live tree"`
	At       string `json:"at,omitempty" jsonschema:"same as snapshot (e.g. HEAD~1)"`
	Baseline string `json:"baseline,omitempty" jsonschema:"also run on this snapshot id or revision and report only the failures that are new"`
}

// maxReruns bounds reruns: each failing test is run that many more times,
// so an unbounded count is an unbounded test run.
const maxReruns = 10

type testRunResult struct {
	factory.TestReport
	Log string `json:"log"` // resource URI of the full output
	// ConfigNote says the working tree's factory.yaml differs from the
	// committed one whose suite and sandbox policy were used.
	ConfigNote string `json:"config_note,omitempty"`
}

func testRun(d Deps) Tool {
	// One runner for the registry's life: it keeps the baselines it ran.
	tests := testrun.New(d.Workspace)
	return defineRecording(d, "test_run",
		"Run a factory.yaml suite in the sandbox (an isolated copy, no network, limits) and get a compact report: status, counts, build errors, then each failure with its location, message and output. Failures are rerun in isolation to tell flaky from broken. The full log is a resource (log).",
		annotations{title: "Run tests"},
		func(ctx context.Context, a testRunArgs) (testRunResult, records, error) {
			if a.Reruns > maxReruns {
				return testRunResult{}, records{}, factory.Errorf(factory.EINVALID,
					"reruns %d: at most %d reruns of each failure (the suite reruns every failing test that many times); use 0 for the default 2, or -1 for none", a.Reruns, maxReruns)
			}
			if a.At != "" && a.Snapshot != "" && a.At != a.Snapshot {
				return testRunResult{}, records{}, factory.Errorf(factory.EINVALID, "at %q and snapshot %q name two trees; give one of them", a.At, a.Snapshot)
			}
			if a.At != "" {
				a.Snapshot = a.At
			}
			cfg, note, err := loadConfig(ctx, d)
			if err != nil {
				return testRunResult{}, records{}, err
			}
			suite, err := pickSuite(cfg, a.Suite, d.Workspace.Root())
			if err != nil {
				return testRunResult{}, records{}, err
			}
			rep, log, err := tests.Run(ctx, testrun.Job{
				Suite:  suite,
				Policy: cfg.Sandbox,
				Request: factory.TestRequest{
					Suite: suite.Name, Package: a.Package, Test: a.Test, Reruns: a.Reruns,
					InPlace: a.InPlace, Snapshot: a.Snapshot, Baseline: a.Baseline,
				},
				Progress: testProgress(ctx),
			})
			res := testRunResult{TestReport: rep, ConfigNote: note}
			recs := records{snapshotIDs: []string{rep.Snapshot}}
			if err != nil || !d.keepsBlobs() || rep.ID == "" {
				return res, recs, err
			}
			res.Log = BlobURI(rep.ID)
			recs.blobs = []blob{{id: rep.ID, kind: "test-log", data: log}}
			recs.testRun = &rep
			return res, recs, nil
		})
}

// detect is d.Detect, or DetectSuites when Deps did not come through New.
func (d Deps) detect() func(string) []factory.Suite {
	if d.Detect != nil {
		return d.Detect
	}
	return testrun.DetectSuites
}

// loadConfig reads factory.yaml as committed (the gate's revision, else
// HEAD), never the working copy: the suite and the sandbox policy are
// rules too. Without a committed one, defaults apply and suites are
// detected from the project's files.
func loadConfig(ctx context.Context, d Deps) (*rules.Config, string, error) {
	if d.Gate != nil {
		return d.Gate.RulesOrDetect(ctx, d.detect())
	}
	return rules.LoadOrDetect(ctx, d.Workspace, d.Workspace.Root(), "", d.detect())
}

func pickSuite(cfg *rules.Config, name, root string) (factory.Suite, error) {
	if len(cfg.Suites) == 0 {
		return factory.Suite{}, factory.Errorf(factory.ENOTFOUND, "no test suite: factory.yaml declares none and none was detected in %s; run factory init, or add suites: to factory.yaml", root)
	}
	if name == "" {
		return cfg.Suites[0], nil
	}
	var names []string
	for _, s := range cfg.Suites {
		if s.Name == name {
			return s, nil
		}
		names = append(names, s.Name)
	}
	return factory.Suite{}, factory.Errorf(factory.ENOTFOUND, "no suite %q; factory.yaml has %v", name, names)
}
