package proc

import (
	"context"
	"io"
	"time"

	"github.com/factory-dev/factory"
)

// Cmd is one command to run.
type Cmd struct {
	Argv      []string      // required; Argv[0] is looked up in the PATH of Env
	Dir       string        // required: explicit working directory
	Env       []string      // "K=V" list; nil means BaseEnv(nil)
	Stdin     io.Reader     // nil means empty
	Timeout   time.Duration // 0 means no limit but ctx
	MaxOutput int           // bytes kept per stream; 0 means 4 MiB; the excess is dropped and counted
	Stdout    io.Writer     // optional tee (live progress); capture happens regardless
	Stderr    io.Writer     // optional tee; capture happens regardless
	Confine   *Confinement  // nil runs unconfined (git, internal tools), still in its own process group
}

// Confinement says how a command is isolated.
type Confinement struct {
	Policy   factory.SandboxPolicy // network, memory, processes, isolation mode, extra writable, env allow
	Writable []string              // paths that must be writable (the isolated copy); everything else is read-only
}

// Result is what happened to a command.
type Result struct {
	ExitCode  int           // -1 when killed by a signal
	Signal    string        // "killed", "terminated", ... or ""
	Stdout    []byte        // captured, capped
	Stderr    []byte        // captured, capped
	Truncated bool          // a cap was hit
	OutBytes  int64         // total bytes produced on both streams, including dropped ones
	Duration  time.Duration // wall time from start to the end of Wait
	TimedOut  bool          // Cmd.Timeout ran out and the group was killed
	Cancelled bool          // ctx was cancelled and the group was killed
	Isolation string        // "bwrap", "native" or "none"
	Notes     []string      // degradations, e.g. "memory limit not enforced: no cgroup"
}

// Isolation modes.
const (
	IsoAuto   = "auto"
	IsoBwrap  = "bwrap"
	IsoNative = "native"
	IsoNone   = "none"
)

// Run runs c and waits for it and everything it started. The error is
// non-nil only when the command could not be started: EINVALID for a bad
// Cmd, ENOTFOUND for a missing program, EUNAVAILABLE for a forced isolation
// mode this machine lacks. A non-zero exit, a timeout or a cancellation is
// reported in Result, not as an error.
func Run(ctx context.Context, c Cmd) (Result, error) {
	return Result{}, factory.Errorf(factory.EUNAVAILABLE, "proc.Run: not implemented yet")
}
