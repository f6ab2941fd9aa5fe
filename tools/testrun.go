package tools

import (
	"context"
	"os"
	"sync"
	"time"

	"github.com/factory-dev/factory"
	"github.com/factory-dev/factory/invariants"
	"github.com/factory-dev/factory/sandbox/testrun"
	"github.com/factory-dev/factory/traces"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

type testRunArgs struct {
	Suite    string `json:"suite,omitempty" jsonschema:"suite name from factory.yaml; omit for the first suite"`
	Package  string `json:"package,omitempty" jsonschema:"narrow to a package or path, relative to the root (Go: ./pkg/...)"`
	Test     string `json:"test,omitempty" jsonschema:"narrow to tests matching this name pattern (Go: a -run regexp)"`
	Reruns   int    `json:"reruns,omitempty" jsonschema:"reruns of each failing test in isolation to tell flaky from broken (default 2, at most 10; -1 disables)"`
	InPlace  bool   `json:"in_place,omitempty" jsonschema:"run in the live tree instead of an isolated copy (not recommended): the suite can then create, change and delete your files for real and leave its build outputs there, and its writes show in later snapshots; .git stays read-only, the rest of the sandbox is the same"`
	Snapshot string `json:"snapshot,omitempty" jsonschema:"run on this snapshot instead of the live tree"`
	Baseline string `json:"baseline,omitempty" jsonschema:"also run on this snapshot and report only the failures that are new"`
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

func testTools(d Deps) []Tool {
	w := d.Workspace
	tests := testrun.New(w)
	return []Tool{
		define(d.Log, SetTest, "test_run",
			"Run a test suite from factory.yaml in the sandbox (an isolated copy, no network, time and memory limits) and return a compact report: status, counts, build errors first, then each failure with its location, message and the head and tail of its own output. Failing tests are rerun in isolation; those that then pass are reported as flaky. The full log is a resource (log).",
			annotations{title: "Run tests"},
			func(ctx context.Context, a testRunArgs) (testRunResult, error) {
				if a.Reruns > maxReruns {
					return testRunResult{}, factory.Errorf(factory.EINVALID,
						"reruns %d: at most %d reruns of each failure (the suite reruns every failing test that many times); use 0 for the default 2, or -1 for none", a.Reruns, maxReruns)
				}
				cfg, note, err := loadConfig(ctx, d)
				if err != nil {
					return testRunResult{}, err
				}
				suite, err := pickSuite(cfg, a.Suite, w.Root())
				if err != nil {
					return testRunResult{}, err
				}
				rep, log, err := tests.Run(ctx, testrun.Job{
					Suite:  suite,
					Policy: cfg.Sandbox,
					Request: factory.TestRequest{
						Suite: suite.Name, Package: a.Package, Test: a.Test, Reruns: a.Reruns,
						InPlace: a.InPlace, Snapshot: a.Snapshot, Baseline: a.Baseline,
					},
					Progress: progressFunc(ctx),
				})
				res := testRunResult{TestReport: rep, ConfigNote: note}
				recordSnapshots(ctx, d, rep.Snapshot)
				if err != nil {
					return res, err
				}
				if d.Store != nil && rep.ID != "" {
					if err := d.Store.PutBlob(ctx, rep.ID, "test-log", []byte(traces.Redact(string(log)))); err != nil {
						return res, err
					}
					res.Log = BlobURI(rep.ID)
					call := factory.CallFrom(ctx)
					if err := d.Store.RecordTestRun(ctx, call.RunID, call.StepID, rep); err != nil {
						d.Log.Warn("cannot record the test run", "err", err)
					}
				}
				return res, nil
			}),
	}
}

// loadConfig reads factory.yaml as committed (the controller's revision,
// else HEAD), never the working copy: the suite and the sandbox policy are
// rules too. Without a committed one, defaults apply and suites are
// detected from the project's files.
func loadConfig(ctx context.Context, d Deps) (*invariants.Config, string, error) {
	var (
		cfg  *invariants.Config
		note string
		err  error
	)
	if d.Gate != nil {
		cfg, note, err = d.Gate.Rules(ctx)
	} else {
		cfg, note, err = invariants.LoadTrusted(ctx, d.Workspace, d.Workspace.Root(), "")
	}
	if factory.ErrorCode(err) == factory.ENOTFOUND {
		root := d.Workspace.Root()
		if _, serr := os.Lstat(invariants.ConfigPath(root)); serr == nil {
			note = invariants.UncommittedNote
		}
		return &invariants.Config{Version: 1, Suites: testrun.DetectSuites(root)}, note, nil
	}
	return cfg, note, err
}

func pickSuite(cfg *invariants.Config, name, root string) (factory.Suite, error) {
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

// progressFunc sends notifications/progress when the client asked for them
// (a progress token in _meta), at most twice a second.
func progressFunc(ctx context.Context) func(done, total int, msg string) {
	req, ok := requestFrom(ctx)
	srv := server.ServerFromContext(ctx)
	if !ok || srv == nil || req.Params.Meta == nil || req.Params.Meta.ProgressToken == nil {
		return nil
	}
	token := req.Params.Meta.ProgressToken
	var mu sync.Mutex
	var last time.Time
	return func(done, total int, msg string) {
		mu.Lock()
		defer mu.Unlock()
		if time.Since(last) < 500*time.Millisecond {
			return
		}
		last = time.Now()
		params := map[string]any{"progressToken": token, "progress": done, "message": msg}
		if total > 0 {
			params["total"] = total
		}
		_ = srv.SendNotificationToClient(ctx, string(mcp.MethodNotificationProgress), params)
	}
}
