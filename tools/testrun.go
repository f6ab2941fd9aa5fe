package tools

import (
	"context"
	"path/filepath"
	"sync"
	"time"

	"github.com/factory-dev/factory"
	"github.com/factory-dev/factory/invariants"
	"github.com/factory-dev/factory/sandbox"
	"github.com/factory-dev/factory/traces"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

type testRunArgs struct {
	Suite    string `json:"suite,omitempty" jsonschema:"suite name from factory.yaml; omit for the first suite"`
	Package  string `json:"package,omitempty" jsonschema:"narrow to a package or path, relative to the root (Go: ./pkg/...)"`
	Test     string `json:"test,omitempty" jsonschema:"narrow to tests matching this name pattern (Go: a -run regexp)"`
	Reruns   int    `json:"reruns,omitempty" jsonschema:"reruns of each failing test in isolation to tell flaky from broken (default 2; -1 disables)"`
	InPlace  bool   `json:"in_place,omitempty" jsonschema:"run in the live tree instead of an isolated copy (not recommended): the suite can then create, change and delete your files for real and leave its build outputs there, and its writes show in later snapshots; .git stays read-only, the rest of the sandbox is the same"`
	Snapshot string `json:"snapshot,omitempty" jsonschema:"run on this snapshot instead of the live tree"`
	Baseline string `json:"baseline,omitempty" jsonschema:"also run on this snapshot and report only the failures that are new"`
}

type testRunResult struct {
	factory.TestReport
	Log string `json:"log"` // resource URI of the full output
}

func testTools(d Deps) []Tool {
	w := d.Workspace
	return []Tool{
		define(d.Log, SetTest, "test_run",
			"Run a test suite from factory.yaml in the sandbox (an isolated copy, no network, time and memory limits) and return a compact report: status, counts, build errors first, then each failure with its location, message and the head and tail of its own output. Failing tests are rerun in isolation; those that then pass are reported as flaky. The full log is a resource (log).",
			annotations{title: "Run tests"},
			func(ctx context.Context, a testRunArgs) (testRunResult, error) {
				cfg, err := loadConfig(w.Root())
				if err != nil {
					return testRunResult{}, err
				}
				suite, err := pickSuite(cfg, a.Suite, w.Root())
				if err != nil {
					return testRunResult{}, err
				}
				rep, log, err := w.RunTests(ctx, sandbox.TestRun{
					Suite:  suite,
					Policy: cfg.Sandbox,
					Request: factory.TestRequest{
						Suite: suite.Name, Package: a.Package, Test: a.Test, Reruns: a.Reruns,
						InPlace: a.InPlace, Snapshot: a.Snapshot, Baseline: a.Baseline,
					},
					Progress: progressFunc(ctx),
				})
				res := testRunResult{TestReport: rep}
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

// loadConfig reads factory.yaml at the root; without one, defaults apply
// and suites are detected from the project's files.
func loadConfig(root string) (*invariants.Config, error) {
	cfg, err := invariants.Load(filepath.Join(root, "factory.yaml"))
	if factory.ErrorCode(err) == factory.ENOTFOUND {
		return &invariants.Config{Version: 1, Suites: sandbox.DetectSuites(root)}, nil
	}
	return cfg, err
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
