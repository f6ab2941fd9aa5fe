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
// directly with os/exec, reporting the ratio and the added milliseconds.
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
				// The reference is timed in the same loop, interleaved, so load
				// from elsewhere on the machine hits both alike.
				direct()
				var ref, run time.Duration
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					t0 := time.Now()
					direct()
					t1 := time.Now()
					res, err := Run(context.Background(), c)
					run += time.Since(t1)
					ref += t1.Sub(t0)
					if err != nil || res.ExitCode != 0 {
						b.Fatalf("%v %+v", err, res)
					}
				}
				b.ReportMetric(float64(run)/float64(ref), "ratio-vs-direct")
				b.ReportMetric(float64(run-ref)/1e6/float64(b.N), "added-ms")
				b.ReportMetric(float64(run)/1e6/float64(b.N), "run-ms")
				b.ReportMetric(float64(ref)/1e6/float64(b.N), "direct-ms")
			})
		}
	}
}
