package gates

import (
	"testing"
	"time"

	"github.com/factory-dev/factory/invariants/rules"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestBenchJobsSizeAndPattern(t *testing.T) {
	calB := map[string]map[string]float64{"ex/a": {"BenchmarkX": 1000, "BenchmarkY": 50000}}
	calR := map[string]map[string]float64{"ex/a": {"BenchmarkX": 4000}, "ex/b": {"BenchmarkZ.v2": 10}}
	jobs := benchJobs(rules.Gate{Bench: "Benchmark/small", Benchtime: "20ms"}, calB, calR)
	target := 20 * time.Millisecond
	assert.Equal(t, []benchJob{
		// each side sized from its own cost: the 4x slower result runs a quarter of the iterations
		{pkg: "ex/a", top: "BenchmarkX", pattern: "^BenchmarkX$/small", n: [2]int64{20000, 5000}, cal: [2]float64{1000, 4000}, target: target},
		{pkg: "ex/a", top: "BenchmarkY", pattern: "^BenchmarkY$/small", n: [2]int64{400, 0}, cal: [2]float64{50000, 0}, target: target},
		{pkg: "ex/b", top: "BenchmarkZ.v2", pattern: `^BenchmarkZ\.v2$/small`, n: [2]int64{0, 2000000}, cal: [2]float64{0, 10}, target: target}, // only in the result
	}, jobs)

	jobs = benchJobs(rules.Gate{Benchtime: "5x"}, calB, nil)
	require.Len(t, jobs, 2)
	assert.Equal(t, benchJob{pkg: "ex/a", top: "BenchmarkX", pattern: "^BenchmarkX$", n: [2]int64{5, 0}, cal: [2]float64{1000, 0}, fixedN: true, target: 20 * time.Millisecond}, jobs[0])
	jobs = benchJobs(rules.Gate{Benchtime: "1x"}, calB, nil)
	assert.EqualValues(t, 2, jobs[0].n[0], "an Nx run must do at least one iteration more than the 1x run measuring the fixed cost")
}

func TestShareSizeGivesAlikeSidesOneCount(t *testing.T) {
	ms := time.Millisecond
	cases := []struct {
		name      string
		cal       [2]float64
		perOp     [2]float64
		n         [2]int64
		wantN     [2]int64
		wantFixed [2]time.Duration
	}{
		// noise sized the same code 4x apart: one count, the geometric mean
		{"alike by calibration", [2]float64{1000, 1200}, [2]float64{500, 2000}, [2]int64{1364, 353}, [2]int64{694, 694}, [2]time.Duration{26 * ms, 26 * ms}},
		{"alike by the probes", [2]float64{1000, 2500}, [2]float64{800, 900}, [2]int64{400, 100}, [2]int64{200, 200}, [2]time.Duration{26 * ms, 26 * ms}},
		{"3x slower keeps its own", [2]float64{1000, 3000}, [2]float64{800, 2500}, [2]int64{900, 300}, [2]int64{900, 300}, [2]time.Duration{25 * ms, 27 * ms}},
		{"one side only", [2]float64{1000, 0}, [2]float64{800, 0}, [2]int64{900, 0}, [2]int64{900, 0}, [2]time.Duration{25 * ms, 27 * ms}},
	}
	for _, c := range cases {
		job := benchJob{cal: c.cal, n: c.n, fixed: [2]time.Duration{25 * ms, 27 * ms}}
		job.shareSize(c.perOp)
		assert.Equal(t, c.wantN, job.n, c.name)
		assert.Equal(t, c.wantFixed, job.fixed, c.name)
	}
}
