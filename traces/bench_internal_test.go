//go:build unix

package traces

import (
	"context"
	"database/sql"
	"fmt"
	"github.com/factory-dev/factory/traces/redact"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/factory-dev/factory"
)

func TestMain(m *testing.M) {
	code := m.Run()
	if bigDir != "" {
		os.RemoveAll(bigDir)
	}
	os.Exit(code)
}

// ---- ingest ----

// benchStep is a realistic step: a tools/call with ~150 bytes of JSON args
// and a short result.
func benchStep(runID string, i int) factory.Step {
	return factory.Step{
		RunID:     runID,
		RequestID: fmt.Sprint(i),
		Method:    "tools/call",
		Tool:      benchTools[i%len(benchTools)],
		Args:      fmt.Sprintf(`{"path":"internal/service/handler_%d.go","patch":"@@ -12,7 +12,8 @@ func handle(w http.ResponseWriter)","fuzz":0}`, i%300),
		Result:    fmt.Sprintf("applied 1 file, 3 hunks; snapshot s-%06x", i),
		Duration:  3 * time.Millisecond,
	}
}

func openBench(b *testing.B, noJournal ...bool) *Store {
	b.Helper()
	s, err := Open(context.Background(), Config{Path: filepath.Join(b.TempDir(), "factory.db"), noFTS: os.Getenv("BENCH_NOFTS") != "",
		noJournal: len(noJournal) > 0 && noJournal[0]})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

// BenchmarkIngest measures run-log ingest in steps per second, a step being
// one RecordStep (as the middleware does), from one caller and from 32
// concurrent callers (group commit). "record" goes through the step
// journal: steps/s is the rate at the API (an append each),
// ingested-steps/s the rate into SQLite, counting until the queue has
// drained; "record-nojournal" waits for each commit. "naive" is the reference: the same
// insert through database/sql in autocommit mode, one transaction per
// step, no group commit, no FTS.
func BenchmarkIngest(b *testing.B) {
	ctx := context.Background()
	for _, shape := range []string{"record", "record-nojournal"} {
		for _, par := range []bool{false, true} {
			name := shape + "/sequential"
			if par {
				name = shape + "/parallel32"
			}
			b.Run(name, func(b *testing.B) {
				s := openBench(b, shape == "record-nojournal")
				run, err := s.StartRun(ctx, factory.Run{Name: "bench"})
				if err != nil {
					b.Fatal(err)
				}
				one := func(i int) {
					st := benchStep(run.ID, i)
					st.Status = factory.StepOK
					if _, err := s.RecordStep(ctx, st); err != nil {
						b.Error(err)
					}
				}
				b.ReportAllocs()
				b.ResetTimer()
				cpu0 := cpuTime()
				t0 := time.Now()
				if par {
					b.SetParallelism(16) // 16 x GOMAXPROCS(2) = 32 callers
					var n sync.Mutex
					i := 0
					b.RunParallel(func(pb *testing.PB) {
						for pb.Next() {
							n.Lock()
							i++
							k := i
							n.Unlock()
							one(k)
						}
					})
				} else {
					for i := range b.N {
						one(i)
					}
				}
				api := time.Since(t0)
				if err := s.flushQueued(); err != nil {
					b.Fatal(err)
				}
				all := time.Since(t0)
				b.ReportMetric(float64(b.N)/api.Seconds(), "steps/s")
				b.ReportMetric(float64(b.N)/all.Seconds(), "ingested-steps/s")
				b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/step")
				b.ReportMetric(float64(s.writes.Load())/float64(s.commits.Load()), "writes/commit")
				b.ReportMetric(0, "ns/op")
			})
		}
	}
	b.Run("naive-autocommit", func(b *testing.B) {
		s := openBench(b)
		run, err := s.StartRun(ctx, factory.Run{Name: "bench"})
		if err != nil {
			b.Fatal(err)
		}
		db, err := sql.Open("sqlite3", dsn(filepath.Join(filepath.Dir(benchPath(s)), "naive.db"), 5*time.Second, "immediate", false))
		if err != nil {
			b.Fatal(err)
		}
		defer db.Close()
		if err := migrate(ctx, db); err != nil {
			b.Fatal(err)
		}
		b.ResetTimer()
		for i := range b.N {
			st := benchStep(run.ID, i)
			if _, err := db.ExecContext(ctx, stmtSQL[stInsStep], factory.NewStepID(time.Now()), st.RunID, st.ParentID, st.RequestID, st.Method, st.Tool,
				redact.JSON(st.Args), redact.Text(st.Result), factory.StepOK, "", "", time.Now().UnixNano(), int64(st.Duration), "", ""); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "steps/s")
		b.ReportMetric(0, "ns/op")
	})
}

// cpuTime is the CPU time (user and system) this process has used: unlike
// wall time, it does not count time other processes on a shared machine
// took from us.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func benchPath(s *Store) string {
	var file string
	rows, err := s.rdb.Query("PRAGMA database_list")
	if err == nil {
		defer rows.Close()
		for rows.Next() {
			var seq int
			var name string
			rows.Scan(&seq, &name, &file)
		}
	}
	return file
}

// ---- queries on a log of 1,000,000 steps ----

var (
	benchTools = []string{"patch_apply", "test_run", "snapshot_create", "snapshot_diff", "snapshot_restore",
		"trace_note", "trace_query", "gate_run", "file_read", "search", "run_start", "doctor"}
	bigOnce  sync.Once
	bigDir   string
	bigStore *Store
	bigErr   error
	bigRuns  []string
	bigSteps []cursor // a sample of positions, for cursor pages
	bigEnd   time.Time
)

const (
	bigSteps1M  = 1_000_000
	bigRunCount = 1000
)

// bigVocab is the words of generated results and errors: a Zipf-like mix
// of a few common words and many rare ones.
func bigVocab() []string {
	common := []string{"applied", "file", "files", "hunk", "hunks", "passed", "failed", "tests", "snapshot",
		"created", "restored", "error", "timeout", "build", "package", "module", "context", "deadline"}
	words := slices.Clone(common)
	syll := []string{"ka", "lo", "mi", "ner", "zu", "tor", "vel", "qua", "shi", "pra", "don", "rix"}
	for i := 0; len(words) < 5000; i++ {
		words = append(words, syll[i%12]+syll[(i/12)%12]+syll[(i/144)%12]+fmt.Sprint(i%7))
	}
	return words
}

// bigLog builds (once per process) a run log of 1,000,000 steps in 1,000
// runs over 30 days, in transactions of 50,000 steps through the same
// insert path as RecordStep without the journal (FTS5 included).
func bigLog(b *testing.B) *Store {
	bigOnce.Do(func() {
		start := time.Now()
		bigDir, bigErr = os.MkdirTemp("", "factory-bench-1m-")
		if bigErr != nil {
			return
		}
		bigStore, bigErr = Open(context.Background(), Config{Path: filepath.Join(bigDir, "factory.db")})
		if bigErr != nil {
			return
		}
		s := bigStore
		rng := rand.New(rand.NewPCG(1, 2))
		vocab := bigVocab()
		word := func() string {
			if rng.IntN(3) == 0 {
				return vocab[rng.IntN(18)] // common
			}
			return vocab[18+int(float64(len(vocab)-18)*rng.Float64()*rng.Float64())]
		}
		sentence := func(n int) string {
			ws := make([]string, n)
			for i := range ws {
				ws[i] = word()
			}
			return strings.Join(ws, " ")
		}
		bigEnd = time.Now().Truncate(time.Millisecond)
		t0 := bigEnd.Add(-30 * 24 * time.Hour)
		span := bigEnd.Sub(t0)
		per := bigSteps1M / bigRunCount
		statuses := func() string {
			switch p := rng.IntN(1000); {
			case p < 940:
				return factory.StepOK
			case p < 980:
				return factory.StepToolError
			case p < 995:
				return factory.StepError
			default:
				return factory.StepCancelled
			}
		}
		const txSize = 50_000
		var steps []factory.Step
		flush := func() {
			batch := steps
			steps = nil
			if err := s.write(func(w *wtx) error {
				for i := range batch {
					if err := s.insertStep(w, &batch[i], true); err != nil {
						return err
					}
				}
				return nil
			}); err != nil && bigErr == nil {
				bigErr = err
			}
		}
		for r := range bigRunCount {
			runStart := t0.Add(time.Duration(int64(span) * int64(r) / bigRunCount))
			run, err := s.StartRun(context.Background(), factory.Run{Name: "task " + sentence(3), Workflow: "forward", Started: runStart})
			if err != nil {
				bigErr = err
				return
			}
			bigRuns = append(bigRuns, run.ID)
			stepGap := span / bigRunCount / time.Duration(per)
			for i := range per {
				st := factory.Step{
					RunID:     run.ID,
					RequestID: fmt.Sprint(i),
					Method:    "tools/call",
					Tool:      benchTools[int(float64(len(benchTools))*rng.Float64()*rng.Float64())],
					Args:      fmt.Sprintf(`{"path":"internal/%s/%s.go","label":"%s"}`, word(), word(), sentence(4)),
					Result:    sentence(8 + rng.IntN(12)),
					Status:    statuses(),
					Started:   runStart.Add(time.Duration(i) * stepGap),
					Duration:  time.Duration(rng.IntN(5000)) * time.Millisecond,
				}
				if st.Status != factory.StepOK {
					st.Error = sentence(6)
				}
				st.ID = factory.NewStepID(st.Started)
				steps = append(steps, st)
				if len(steps) == txSize {
					flush()
				}
			}
		}
		flush()
		if bigErr != nil {
			return
		}
		if bigErr = s.indexSteps(); bigErr != nil {
			return
		}
		// Sample positions for cursor pages.
		rows, err := s.rdb.Query(`SELECT started, id, seq FROM steps WHERE seq % 997 = 0`)
		if err != nil {
			bigErr = err
			return
		}
		defer rows.Close()
		for rows.Next() {
			var c cursor
			c.Kind = KindSteps
			rows.Scan(&c.Started, &c.ID, &c.Seq)
			bigSteps = append(bigSteps, c)
		}
		bigErr = rows.Err()
		var size int64
		if fi, err := os.Stat(filepath.Join(bigDir, "factory.db")); err == nil {
			size = fi.Size()
		}
		fmt.Fprintf(os.Stderr, "bench: built a run log of %d steps in %v (fts5=%v, %d MB)\n", bigSteps1M, time.Since(start).Round(time.Second), s.fts, size>>20)
	})
	if bigErr != nil {
		b.Fatal(bigErr)
	}
	return bigStore
}

// queriesPerOp is the number of queries per iteration, so that a
// percentile has samples under make bench (-benchtime 1x).
const queriesPerOp = 200

// BenchmarkQuery1M measures Query latency on a log of 1,000,000 steps for
// each shape trace_query offers, with varying arguments, and reports p50
// and p95 in milliseconds (target: p95 < 20 ms).
func BenchmarkQuery1M(b *testing.B) {
	s := bigLog(b)
	ctx := context.Background()
	vocab := bigVocab()
	shapes := []struct {
		name string
		q    func(r *rand.Rand) Query
	}{
		{"by-run", func(r *rand.Rand) Query { return Query{RunID: bigRuns[r.IntN(len(bigRuns))]} }},
		{"by-tool", func(r *rand.Rand) Query { return Query{Tool: benchTools[r.IntN(len(benchTools))]} }},
		{"by-rare-tool", func(r *rand.Rand) Query { return Query{Tool: benchTools[len(benchTools)-1]} }},
		{"by-status", func(r *rand.Rand) Query {
			return Query{Status: []string{factory.StepOK, factory.StepToolError, factory.StepError, factory.StepCancelled}[r.IntN(4)]}
		}},
		{"since", func(r *rand.Rand) Query { return Query{Since: bigEnd.Add(-time.Duration(r.IntN(7*24)) * time.Hour)} }},
		{"run+status", func(r *rand.Rand) Query {
			return Query{RunID: bigRuns[r.IntN(len(bigRuns))], Status: factory.StepError}
		}},
		{"tool+since", func(r *rand.Rand) Query {
			return Query{Tool: benchTools[r.IntN(len(benchTools))], Since: bigEnd.Add(-time.Duration(1+r.IntN(72)) * time.Hour)}
		}},
		{"text-common", func(r *rand.Rand) Query { return Query{Text: vocab[r.IntN(18)]} }},
		{"text-rare", func(r *rand.Rand) Query { return Query{Text: vocab[18+r.IntN(len(vocab)-18)]} }},
		{"text-two-words", func(r *rand.Rand) Query { return Query{Text: vocab[r.IntN(18)] + " " + vocab[18+r.IntN(200)]} }},
		{"text-prefix", func(r *rand.Rand) Query { return Query{Text: vocab[18+r.IntN(len(vocab)-18)][:4] + "*"} }},
		{"text-prefix3", func(r *rand.Rand) Query { return Query{Text: vocab[18+r.IntN(len(vocab)-18)][:3] + "*"} }},
		{"text-prefix6", func(r *rand.Rand) Query { return Query{Text: vocab[18+r.IntN(len(vocab)-18)][:6] + "*"} }},
		{"cursor-page", func(r *rand.Rand) Query {
			return Query{Cursor: bigSteps[r.IntN(len(bigSteps))].encode()}
		}},
		{"cursor-page-tool", func(r *rand.Rand) Query {
			return Query{Tool: benchTools[r.IntN(4)], Cursor: bigSteps[r.IntN(len(bigSteps))].encode()}
		}},
		{"cursor-page-text", func(r *rand.Rand) Query {
			return Query{Text: vocab[r.IntN(18)], Cursor: bigSteps[r.IntN(len(bigSteps))].encode()}
		}},
		{"runs", func(r *rand.Rand) Query { return Query{Kind: KindRuns} }},
	}
	for _, sh := range shapes {
		b.Run(sh.name, func(b *testing.B) {
			r := rand.New(rand.NewPCG(3, 4))
			lat := make([]time.Duration, 0, b.N)
			rows := 0
			for b.Loop() {
				for range queriesPerOp {
					q := sh.q(r)
					t := time.Now()
					p, err := s.Query(ctx, q)
					lat = append(lat, time.Since(t))
					if err != nil {
						b.Fatal(err)
					}
					rows += len(p.Steps) + len(p.Runs)
				}
			}
			reportLatency(b, lat)
			b.ReportMetric(float64(rows)/float64(len(lat)), "rows/op")
		})
	}
}

func reportLatency(b *testing.B, lat []time.Duration) {
	slices.Sort(lat)
	pct := func(p float64) float64 {
		return float64(lat[int(float64(len(lat)-1)*p)].Microseconds()) / 1000
	}
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.95), "p95-ms")
}

// BenchmarkRun1M reads one whole run (1,000 steps) of the 1M-step log, as
// `factory trace RUN` does.
func BenchmarkRun1M(b *testing.B) {
	s := bigLog(b)
	r := rand.New(rand.NewPCG(5, 6))
	lat := make([]time.Duration, 0, b.N)
	for b.Loop() {
		for range queriesPerOp {
			t := time.Now()
			if _, _, _, err := s.Run(context.Background(), bigRuns[r.IntN(len(bigRuns))]); err != nil {
				b.Fatal(err)
			}
			lat = append(lat, time.Since(t))
		}
	}
	reportLatency(b, lat)
}

// BenchmarkCommitBatch measures what the writer sustains when callers keep
// it fed: batches of n prepared RecordSteps committed in one transaction,
// from one goroutine (no scheduling in the measurement). With n=1 it is the
// cost of one commit per step; the concurrent benchmarks above reach the
// larger batches only when callers get the CPU to queue their writes.
func BenchmarkCommitBatch(b *testing.B) {
	ctx := context.Background()
	for _, n := range []int{1, 8, 32, 128} {
		b.Run(fmt.Sprint("batch=", n), func(b *testing.B) {
			s := openBench(b)
			run, err := s.StartRun(ctx, factory.Run{Name: "bench"})
			if err != nil {
				b.Fatal(err)
			}
			cpu0 := cpuTime()
			steps := 0
			for b.Loop() {
				batch := make([]*op, n)
				for i := range batch {
					st := benchStep(run.ID, steps+i)
					st.Status = factory.StepOK
					gen, _ := prepareStep(&st)
					batch[i] = &op{fn: func(w *wtx) error { return s.insertStep(w, &st, gen) }, done: make(chan error, 1)}
				}
				for _, err := range s.commitBatch(batch) {
					if err != nil {
						b.Fatal(err)
					}
				}
				steps += n
			}
			b.ReportMetric(float64(steps)/b.Elapsed().Seconds(), "steps/s")
			b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(steps), "cpu-µs/step")
		})
	}
}
