package confine

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// TestNetworkIsOff dials the server whose address FIXTURE_ADDR names; the
// caller started it on its own loopback, outside the sandbox.
func TestNetworkIsOff(t *testing.T) {
	addr := os.Getenv("FIXTURE_ADDR")
	if addr == "" {
		t.Skip("FIXTURE_ADDR not set")
	}
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err == nil {
		c.Close()
		t.Fatalf("connected to %s: the network is not isolated", addr)
	}
	t.Logf("dial %s: %v", addr, err)
}

// TestForkIsLimited starts sleeping children until the process limit stops
// it, then kills them all.
func TestForkIsLimited(t *testing.T) {
	if os.Getenv("FIXTURE_FORK") == "" {
		t.Skip("FIXTURE_FORK not set")
	}
	const most = 1000
	var children []*exec.Cmd
	defer func() {
		for _, c := range children {
			c.Process.Kill()
			c.Wait()
		}
	}()
	for i := 0; i < most; i++ {
		c := exec.Command("sleep", "60")
		if err := c.Start(); err != nil {
			t.Logf("stopped after %d children: %v", i, err)
			return
		}
		children = append(children, c)
	}
	t.Fatalf("started %d children: no process limit", most)
}

// TestWriteOutside writes into FIXTURE_OUTSIDE, a directory outside the
// run's copy; the caller checks that nothing landed there.
func TestWriteOutside(t *testing.T) {
	dir := os.Getenv("FIXTURE_OUTSIDE")
	if dir == "" {
		t.Skip("FIXTURE_OUTSIDE not set")
	}
	err := os.WriteFile(filepath.Join(dir, "escaped.txt"), []byte("out\n"), 0o644)
	t.Logf("write outside: %v", err)
}
