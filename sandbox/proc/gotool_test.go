//go:build linux

package proc

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/factory-dev/factory"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestConfinedGoTest runs the real go tool inside each isolation on a tiny
// module: the build cache, the private /tmp and the read-only root must
// let `go test` work, as test_run will need.
func TestConfinedGoTest(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go tool not in PATH")
	}
	eachIsolation(t, func(t *testing.T, iso string) {
		work := t.TempDir()
		require.NoError(t, os.WriteFile(filepath.Join(work, "go.mod"), []byte("module example.com/m\n\ngo 1.21\n"), 0o644))
		require.NoError(t, os.WriteFile(filepath.Join(work, "m_test.go"), []byte(`package m

import (
	"net"
	"testing"
)

func TestLoopback(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln.Close()
}

func TestFails(t *testing.T) { t.Fatal("boom") }
`), 0o644))
		res, err := Run(context.Background(), Cmd{
			Argv:    []string{goBin, "test", "-count=1", "-json", "./..."},
			Dir:     work,
			Timeout: 2 * time.Minute,
			Confine: &Confinement{Policy: factory.SandboxPolicy{Isolation: iso}, Writable: []string{work}},
		})
		require.NoError(t, err)
		out := string(res.Stdout)
		assert.Equal(t, 1, res.ExitCode, "stderr: %s\nstdout: %s", res.Stderr, out)
		assert.Contains(t, out, `"Action":"pass","Package":"example.com/m","Test":"TestLoopback"`)
		assert.Contains(t, out, `"Action":"fail","Package":"example.com/m","Test":"TestFails"`)
	})
}
