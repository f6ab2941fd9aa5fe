//go:build linux

package proc

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// cpuSelf is the CPU time this process has used so far.
func cpuSelf() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestRunReportsDescendantsCPU burns 200 ms of CPU in a grandchild (a
// shell's background job it waits for) and checks Result.CPU counts it in
// every mode: the rusage of the process Run waits for includes what bwrap
// and the native init reaped below it.
func TestRunReportsDescendantsCPU(t *testing.T) {
	self, err := os.Executable()
	require.NoError(t, err)
	eachMode(t, func(t *testing.T, m mode) {
		work := t.TempDir()
		// the shell runs the burner by path, so it must be inside the
		// sandbox: the work directory is
		burner := filepath.Join(work, "burner")
		if os.Link(self, burner) != nil {
			b, err := os.ReadFile(self)
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(burner, b, 0o755))
		}
		c := cmdFor(m, work, "/bin/sh", "-c", `"$0" 200 & wait $!`, burner)
		c.Env = append(BaseEnv(nil), helperEnv+"=burn")
		c.Timeout = 30 * time.Second
		res, err := Run(context.Background(), c)
		require.NoError(t, err)
		require.Equal(t, 0, res.ExitCode, "%s %s %v", res.Stdout, res.Stderr, res.Notes)
		assert.Contains(t, string(res.Stdout), "burnt")
		assert.GreaterOrEqual(t, res.CPU, 150*time.Millisecond, "isolation %s", res.Isolation)
		assert.Less(t, res.CPU, 10*time.Second, "isolation %s", res.Isolation)

		// a command that sleeps uses next to no CPU
		idle, err := Run(context.Background(), cmdFor(m, work, "/bin/sh", "-c", "sleep 0.2"))
		require.NoError(t, err)
		assert.Less(t, idle.CPU, 150*time.Millisecond, "isolation %s", idle.Isolation)
	})
}
