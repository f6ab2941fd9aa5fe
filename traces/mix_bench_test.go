package traces_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"github.com/factory-dev/factory/traces/redact"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/factory-dev/factory/sandbox"
	"github.com/factory-dev/factory/server"
	"github.com/factory-dev/factory/tools"
	"github.com/factory-dev/factory/traces"
)

// mixRepo is a git repository with a committed factory.yaml whose suite
// runs `true`: test_run does its whole job (an isolated copy, the
// sandbox, the report) around a command that costs nothing.
func mixRepo(b *testing.B) string {
	dir := b.TempDir()
	files := map[string]string{
		"a.txt":        "one\n",
		"factory.yaml": "version: 1\nsuites:\n  unit: {run: [\"true\"], format: exit-code}\n",
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	for _, args := range [][]string{{"init", "-q"}, {"config", "user.email", "b@example.com"}, {"config", "user.name", "b"},
		{"add", "."}, {"commit", "-qm", "init"}} {
		if out, err := exec.Command("git", append([]string{"-C", dir}, args...)...).CombinedOutput(); err != nil {
			b.Fatalf("git %v: %v %s", args, err, out)
		}
	}
	return dir
}

// mixPeer is an MCP client over the stdio transport of a real server.
type mixPeer struct {
	w  io.Writer
	r  *bufio.Reader
	id int
}

func (p *mixPeer) call(b *testing.B, tool string, args any) time.Duration {
	p.id++
	line, err := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": p.id, "method": "tools/call",
		"params": map[string]any{"name": tool, "arguments": args}})
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	if _, err := p.w.Write(append(line, '\n')); err != nil {
		b.Fatal(err)
	}
	reply, err := p.r.ReadBytes('\n')
	d := time.Since(start)
	if err != nil || !strings.Contains(string(reply), `"result"`) || strings.Contains(string(reply), `"isError":true`) {
		b.Fatalf("%s: reply %.300s, %v", tool, reply, err)
	}
	return d
}

// serveMix serves every tool on a workspace over stdio, recording into
// store, and returns the client.
func serveMix(b *testing.B, store *traces.Store) *mixPeer {
	ctx := context.Background()
	repo := mixRepo(b)
	ws, err := sandbox.Open(ctx, sandbox.Config{Root: repo, Redact: redact.Stored})
	if err != nil {
		b.Fatal(err)
	}
	srv := server.New(server.Config{Store: store, Root: repo, Version: "bench", Logger: slog.New(slog.DiscardHandler)})
	srv.Register(tools.New(tools.Deps{Store: store, Workspace: ws, Runs: srv.Runs()}))
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { _ = srv.ServeStdio(sctx, inR, outW); outW.Close(); close(done) }()
	b.Cleanup(func() { inW.Close(); cancel(); <-done })
	p := &mixPeer{w: inW, r: bufio.NewReaderSize(outR, 1<<20)}
	if _, err := inW.Write([]byte(`{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"bench","version":"1"}}}` + "\n")); err != nil {
		b.Fatal(err)
	}
	if _, err := p.r.ReadBytes('\n'); err != nil {
		b.Fatal(err)
	}
	if _, err := inW.Write([]byte(`{"jsonrpc":"2.0","method":"notifications/initialized"}` + "\n")); err != nil {
		b.Fatal(err)
	}
	return p
}

// mixPatch toggles a.txt between "one" and "two".
func mixPatch(i int) string {
	from, to := "one", "two"
	if i%2 == 1 {
		from, to = to, from
	}
	return fmt.Sprintf("--- a/a.txt\n+++ b/a.txt\n@@ -1 +1 @@\n-%s\n+%s\n", from, to)
}

// BenchmarkToolMixStdio measures what a call costs over stdio on a
// realistic mix (snapshot_create, patch_apply, test_run, trace_query, one
// of each per iteration), with the step journal ("journal": RecordStep
// appends to the memory-mapped journal and returns, the insert commits in
// the background) and without ("commit": RecordStep waits for its
// commit, as every other write does). Each sub-benchmark reports the mean
// wall time per call of each tool and of the mix.
func BenchmarkToolMixStdio(b *testing.B) {
	opens := []struct {
		name string
		open func(context.Context, traces.Config) (*traces.Store, error)
	}{{"journal", traces.Open}, {"commit", traces.OpenWithoutJournal}}
	for _, o := range opens {
		b.Run(o.name, func(b *testing.B) {
			store, err := o.open(context.Background(), traces.Config{Path: filepath.Join(b.TempDir(), "factory.db")})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { store.Close() })
			p := serveMix(b, store)
			mix := []struct {
				tool string
				args func(i int) any
			}{
				{"snapshot_create", func(int) any { return map[string]any{"label": "bench"} }},
				{"patch_apply", func(i int) any { return map[string]any{"patch": mixPatch(i)} }},
				{"test_run", func(int) any { return map[string]any{} }},
				{"trace_query", func(int) any { return map[string]any{"limit": 5} }},
			}
			for i := range 3 { // warm-up: caches, the run, the first journal segment
				for _, m := range mix {
					p.call(b, m.tool, m.args(i))
				}
			}
			per := make([]time.Duration, len(mix))
			b.ResetTimer()
			for i := range b.N {
				for k, m := range mix {
					per[k] += p.call(b, m.tool, m.args(i+1))
				}
			}
			b.StopTimer()
			var all time.Duration
			for k, m := range mix {
				all += per[k]
				b.ReportMetric(float64(per[k].Nanoseconds())/float64(b.N), m.tool+"-ns/call")
			}
			b.ReportMetric(float64(all.Nanoseconds())/float64(b.N*len(mix)), "mix-ns/call")
		})
	}
}
