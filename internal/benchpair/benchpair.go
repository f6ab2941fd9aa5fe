package benchpair

import (
	"slices"
	"testing"
	"time"
)

// MinRounds is the fewest paired rounds a comparison runs, whatever b.N.
const MinRounds = 5

// Side is one contender: Run does the work once and returns the time to
// count, so each side can prepare (or undo) outside its timing.
type Side struct {
	Name string
	Run  func() time.Duration
}

// Result is factory against one reference over the rounds.
type Result struct {
	Ref              string
	Factory, Other   time.Duration // median time of a round
	Median, Min, Max float64       // of the rounds' ratios factory/reference
	Rounds           int
}

// Pair runs max(rounds, MinRounds, b.N) paired rounds of factory against
// ref, reports the metrics above and returns the result. The benchmark's
// own ns/op is the time of a whole round (every side and its preparation)
// over b.N: the timer keeps running, so -benchtime in seconds still ends.
func Pair(b *testing.B, rounds int, factory func() time.Duration, ref Side) Result {
	return Compare(b, rounds, nil, factory, ref)[0]
}

// Compare is Pair against several references, each timed in every round
// (for a reference that is a step of another, say). It reports the first
// as Pair does and the others with their names, as the package says.
// setup, when not nil, runs untimed at the start of every round, for what
// every side of the round works on (a fresh copy, a new snapshot).
func Compare(b *testing.B, rounds int, setup func(), factory func() time.Duration, refs ...Side) []Result {
	b.Helper()
	if len(refs) == 0 {
		b.Fatal("benchpair: no reference to compare with")
	}
	n := max(rounds, MinRounds, b.N)
	sides := append([]Side{{Name: "factory", Run: factory}}, refs...)
	times := make([][]time.Duration, len(sides))
	for r := 0; r < n; r++ {
		if setup != nil {
			setup()
		}
		for k := range sides {
			i := (k + r) % len(sides) // rotate who goes first
			times[i] = append(times[i], sides[i].Run())
		}
	}
	out := make([]Result, len(refs))
	for j := range refs {
		out[j] = summarize(refs[j].Name, times[0], times[j+1])
		out[j].report(b, j == 0)
	}
	return out
}

// summarize pairs the rounds of factory and a reference.
func summarize(ref string, fac, other []time.Duration) Result {
	ratios := make([]float64, len(fac))
	for i := range fac {
		ratios[i] = float64(fac[i]) / float64(max(other[i], 1))
	}
	slices.Sort(ratios)
	return Result{
		Ref: ref, Factory: medianDuration(fac), Other: medianDuration(other),
		Median: median(ratios), Min: ratios[0], Max: ratios[len(ratios)-1], Rounds: len(fac),
	}
}

func (r Result) report(b *testing.B, first bool) {
	suffix := "-vs-" + r.Ref
	if first {
		suffix = ""
		b.ReportMetric(float64(r.Factory.Nanoseconds()), "factory-ns/op")
		b.ReportMetric(float64(r.Rounds), "rounds")
	}
	b.ReportMetric(float64(r.Other.Nanoseconds()), r.Ref+"-ns/op")
	b.ReportMetric(r.Median, "ratio-vs-"+r.Ref)
	b.ReportMetric(r.Min, "ratio-min"+suffix)
	b.ReportMetric(r.Max, "ratio-max"+suffix)
}

// median of sorted values (the mean of the middle two for an even count).
func median(sorted []float64) float64 {
	n := len(sorted)
	return (sorted[(n-1)/2] + sorted[n/2]) / 2
}

func medianDuration(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return (s[(len(s)-1)/2] + s[len(s)/2]) / 2
}
