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
