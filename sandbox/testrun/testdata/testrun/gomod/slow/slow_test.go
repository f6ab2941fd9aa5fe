//go:build slow

package slow

import (
	"os"
	"os/exec"
	"testing"
	"time"
)

func TestQuick(t *testing.T) {}

// TestSlow starts `sleep $FIXTURE_SLEEP` in the background (never waited
// for) and then sleeps past the suite's timeout.
func TestSlow(t *testing.T) {
	c := exec.Command("sleep", os.Getenv("FIXTURE_SLEEP"))
	if err := c.Start(); err != nil {
		t.Fatalf("start sleeper: %v", err)
	}
	t.Logf("started sleeper pid %d", c.Process.Pid)
	time.Sleep(10 * time.Minute)
}
