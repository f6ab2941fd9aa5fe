package gates

import (
	"context"

	"github.com/factory-dev/factory/invariants/rules"
)

// command runs the gate's argv and reports its exit, time and an excerpt
// of its output; the rules judge the exit code.
func (r Tree) command(ctx context.Context, g rules.Gate) (any, error) {
	res, err := r.exec(ctx, g, g.Run)
	if err != nil {
		return nil, err
	}
	return CommandFacts{ExitCode: res.ExitCode, TimedOut: res.TimedOut, Seconds: res.Duration.Seconds(),
		Output: excerpt(append(append([]byte{}, res.Stdout...), res.Stderr...), 5, 20)}, nil
}
