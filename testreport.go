package factory

import "time"

// Suite is a test suite declared in factory.yaml. Run is an argv list, never a
// shell string.
type Suite struct {
	Name      string            `json:"name"`
	Run       []string          `json:"run"`
	Format    string            `json:"format"`               // FormatGoJSON, FormatJUnit, FormatTAP, FormatExitCode
	JUnitPath string            `json:"junit_path,omitempty"` // for FormatJUnit: file the command writes, relative to the root
	Timeout   time.Duration     `json:"timeout,omitempty"`    // zero means 10 minutes
	Env       map[string]string `json:"env,omitempty"`
}

// Test report formats.
const (
	FormatGoJSON   = "go-json"
	FormatJUnit    = "junit"
	FormatTAP      = "tap"
	FormatExitCode = "exit-code"
)

// SandboxPolicy is factory.yaml's sandbox section: the limits every command
// run for a suite or a gate gets.
type SandboxPolicy struct {
	Network   bool     `json:"network"`             // false (default): no network but loopback
	Memory    int64    `json:"memory,omitempty"`    // bytes; 0 means 4 GiB
	Processes int      `json:"processes,omitempty"` // max tasks; 0 means 512
	Isolation string   `json:"isolation,omitempty"` // "auto" (default), "bwrap", "native", "seatbelt" (macOS), "none"
	Writable  []string `json:"writable,omitempty"`  // extra writable paths (caches); ~ expands to $HOME
	EnvAllow  []string `json:"env_allow,omitempty"` // extra environment variable names passed through
	// Hide lists more secret places to hide (besides ~/.ssh, ~/.aws,
	// /etc/shadow and the like): absolute paths or globs, "~/" meaning in
	// every home directory. Directories show empty, files empty.
	Hide   []string `json:"hide,omitempty"`
	Unhide []string `json:"unhide,omitempty"` // default hidden places to show after all, written as listed (e.g. "~/.npmrc")
}

// TestRequest asks for one suite to run. Package and Test narrow the suite
// through fields its format knows how to pass on; both are validated.
type TestRequest struct {
	Suite    string // suite name from factory.yaml; "" picks the only or the first suite
	Package  string // e.g. "./sandbox/..." for Go
	Test     string // a test name pattern (Go: -run regexp)
	Reruns   int    // reruns of each failure in isolation to detect flakes; <0 disables, 0 means 2
	InPlace  bool   // run in the live tree instead of an isolated copy
	Snapshot string // run on this snapshot instead of the live tree
	Baseline string // also compare with this snapshot's failures
}

// Test report statuses.
const (
	TestPass    = "pass"
	TestFail    = "fail"
	TestError   = "error" // build failure, crash, no tests ran, harness fault
	TestTimeout = "timeout"
)

// TestReport is the compact, agent-sized result of a test run.
type TestReport struct {
	ID          string        `json:"id"` // addresses the log as text: factory://tests/<ID>/log{?offset,limit,grep,test}
	Suite       string        `json:"suite"`
	Status      string        `json:"status"`
	Counts      TestCounts    `json:"counts"`
	BuildErrors []BuildError  `json:"build_errors,omitempty"`
	Failures    []TestFailure `json:"failures,omitempty"`
	Flaky       []TestFailure `json:"flaky,omitempty"`        // failed, then passed on rerun
	NewFailures []string      `json:"new_failures,omitempty"` // not failing on the baseline
	Snapshot    string        `json:"snapshot,omitempty"`     // the tree that was tested
	Isolation   string        `json:"isolation"`              // "bwrap", "native", "seatbelt", "none"
	ExitCode    int           `json:"exit_code"`
	Duration    time.Duration `json:"duration_ns"`
	LogBytes    int           `json:"log_bytes"`
	Notes       []string      `json:"notes,omitempty"` // degraded isolation, output cap hit...
	// Cached lists the packages go test answered from its cache instead of
	// running them: their tests are not counted, as nothing ran.
	Cached []string `json:"cached,omitempty"`
	// Ran names every top-level test that ran (passed, failed or skipped),
	// "package.Test" for Go. Not sent to the agent (it is as long as the
	// suite): the suite gate reads it in process to find the declared tests
	// that did not run.
	Ran []string `json:"-"`
}

// TestCounts counts test results. Subtests count as tests; a parent test
// that failed only because its subtests did is not counted (the subtests
// are), so Failed equals the number of tests the failures name, grouped
// ones included, and Total = Passed + Failed + Skipped.
type TestCounts struct {
	Total   int `json:"total"`
	Passed  int `json:"passed"`
	Failed  int `json:"failed"`
	Skipped int `json:"skipped"`
}

// TestFailure is one failing test, with the lines that explain it.
type TestFailure struct {
	Name     string   `json:"name"`
	Package  string   `json:"package,omitempty"`
	File     string   `json:"file,omitempty"`
	Line     int      `json:"line,omitempty"`
	Message  string   `json:"message,omitempty"`  // first assertion or panic line
	Output   []string `json:"output,omitempty"`   // first 3 and last 12 lines of its own output
	Omitted  int      `json:"omitted,omitempty"`  // lines left out between head and tail
	Subtests []string `json:"subtests,omitempty"` // failing subtests folded into this parent
	Timeout  bool     `json:"timeout,omitempty"`
	// Crashed: the test took its package's test binary down (a panic, an
	// os.Exit); the tests the crash hid were run again without it.
	Crashed bool `json:"crashed,omitempty"`
	// Count is set when tests of one package failed with the same message:
	// they are one entry, Name the first of them, Count how many (Name
	// included), Tests the others' names (at most MaxGroupedNames).
	Count int      `json:"count,omitempty"`
	Tests []string `json:"tests,omitempty"`
	// AllTests names every test of a group, Name first, for the gate and
	// the run log; not sent to the agent.
	AllTests []string `json:"-"`
}

// MaxGroupedNames bounds TestFailure.Tests.
const MaxGroupedNames = 20

// Names returns the names of the failing tests f stands for: Name, or
// every test of its group.
func (f TestFailure) Names() []string {
	if len(f.AllTests) > 0 {
		return f.AllTests
	}
	return []string{f.Name}
}

// BuildError is a compile failure, reported before test failures.
type BuildError struct {
	Package string   `json:"package,omitempty"`
	File    string   `json:"file,omitempty"`
	Line    int      `json:"line,omitempty"`
	Message string   `json:"message"`
	Output  []string `json:"output,omitempty"`
}
