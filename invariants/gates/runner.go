package gates

import (
	"context"
	"time"

	"github.com/factory-dev/factory"
)

// Runner runs gate commands in the sandbox.
type Runner interface {
	// RunCommand runs one command. A non-zero exit is not an error; a
	// command that cannot start is. It must be safe to call concurrently:
	// the paired bench gate runs the base's and the result's benchmarks
	// at the same time.
	RunCommand(ctx context.Context, cmd Command) (CommandResult, error)
	// RunSuite runs a test suite in run.Dir (an isolated copy of the tree
	// run.Snapshot) and returns its report.
	RunSuite(ctx context.Context, run SuiteRun) (factory.TestReport, error)
}

// Command is one command for Runner.RunCommand.
type Command struct {
	Argv      []string              // never empty; never a shell string
	Dir       string                // working directory
	Env       map[string]string     // extra environment on top of the sandbox's
	Timeout   time.Duration         // zero means 10 minutes
	MaxOutput int                   // bytes of stdout and of stderr kept; zero means 1 MiB
	Policy    factory.SandboxPolicy // confinement (factory.yaml's sandbox section)
	// Root is the top of the tree Dir is in (the isolated copy; Dir may be
	// a package directory below it); empty means Dir. A runner may show
	// the command this tree at another path (see CommandResult.Dir), so
	// the gates pass paths inside it relative to Dir, never absolute.
	Root string
}

// CommandResult is what a command did.
type CommandResult struct {
	ExitCode int // -1 when killed
	Stdout   []byte
	Stderr   []byte
	TimedOut bool
	Duration time.Duration
	// CPU is the user plus system CPU time the command and the descendants
	// it waited for used. Zero means unknown: the bench gate then judges
	// the ns/op the benchmarks report (wall time) instead.
	CPU time.Duration
	// Dir is the working directory as the command saw it, when that is
	// not Command.Dir: a runner may show the tree at another path (the
	// sandbox mounts an isolated copy at the live workspace's path, so
	// build caches keyed on absolute paths hit). Paths the command prints
	// under Dir are read as the same paths under Command.Dir. Empty means
	// Command.Dir.
	Dir string
}

// SuiteRun asks for one suite to run on an isolated copy.
type SuiteRun struct {
	Dir      string // the isolated copy holding the tree
	Snapshot string // the snapshot id of that tree
	Suite    factory.Suite
	Policy   factory.SandboxPolicy
}
