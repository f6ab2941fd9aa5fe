//go:build linux

package proc

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/factory-dev/factory"
	"github.com/factory-dev/factory/internal/benchpair"
)

var (
	helloOnce sync.Once
	helloBin  string
	helloErr  error
)

// buildHello builds testdata/hello once per process.
func buildHello(b *testing.B) string {
	helloOnce.Do(func() {
		dir, err := os.MkdirTemp("", "proc-bench-")
		if err != nil {
			helloErr = err
			return
		}
		helloBin = filepath.Join(dir, "hello")
		c := exec.Command("go", "build", "-o", helloBin, "./testdata/hello")
		c.Env = os.Environ()
		if out, err := c.CombinedOutput(); err != nil {
			helloErr = err
			b.Logf("%s", out)
		}
	})
	if helloErr != nil {
		b.Fatalf("build hello: %v", helloErr)
	}
	return helloBin
}

// BenchmarkRun measures Run in each mode against exec'ing the same program
// directly with os/exec, in paired rounds (ratio-vs-direct).
func BenchmarkRun(b *testing.B) {
	trueBin, err := exec.LookPath("true")
	if err != nil {
		b.Skip("no true binary")
	}
	progs := map[string]string{"true": trueBin, "hello": buildHello(b)}
	for _, name := range []string{"true", "hello"} {
		prog := progs[name]
		for _, m := range modes {
			b.Run(name+"/"+m.name, func(b *testing.B) {
				if m.confine {
					f := Detect()
					if m.name == IsoBwrap && !f.BwrapWorks || m.name == IsoNative && nativeReason(f) != "" {
						b.Skipf("%s unavailable", m.name)
					}
				}
				work := b.TempDir()
				direct := func() {
					var out bytes.Buffer
					c := exec.Command(prog)
					c.Dir, c.Env, c.Stdout = work, BaseEnv(nil), &out
					if err := c.Run(); err != nil {
						b.Fatal(err)
					}
				}
				c := Cmd{Argv: []string{prog}, Dir: work}
				if m.confine {
					c.Confine = &Confinement{Policy: factory.SandboxPolicy{Isolation: m.name}, Writable: []string{work}}
				}
				// Paired rounds (internal/benchpair): load from elsewhere on
				// the machine hits both alike.
				direct()
				benchpair.Pair(b, benchpair.MinRounds, func() time.Duration {
					t0 := time.Now()
					res, err := Run(context.Background(), c)
					d := time.Since(t0)
					if err != nil || res.ExitCode != 0 {
						b.Fatalf("%v %+v", err, res)
					}
					return d
				}, benchpair.Side{Name: "direct", Run: func() time.Duration {
					t0 := time.Now()
					direct()
					return time.Since(t0)
				}})
			})
		}
	}
}
