package investigate

import (
	"context"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"

	"github.com/factory-dev/factory"
)

// Classes of a test over repeated runs.
const (
	Flaky   = "flaky"   // failed in some runs, passed in others
	Failing = "failing" // failed in every run
	Passing = "passing" // passed in every run
)

// Outcome is an earlier recorded failure of a test, from the run log.
type Outcome struct {
	TestRun string `json:"test_run"`
	Status  string `json:"status"`
	At      string `json:"at"`
}

// History reads a test's earlier outcomes. tools/ implements it with the
// run log; nil means none are read.
type History interface {
	Earlier(ctx context.Context, test string) []Outcome
}

// Message is one distinct failure message and how many runs printed it.
type Message struct {
	Text  string `json:"text"`
	Count int    `json:"count"`
}

// TestStats is one test over all runs.
type TestStats struct {
	Name     string `json:"name"`
	Passes   int    `json:"passes"`
	Failures int    `json:"failures"`
	// FailRate is failures/runs, with its 95% Wilson score interval.
	FailRate float64    `json:"fail_rate"`
	Interval [2]float64 `json:"interval"`
	// Flips counts changes of outcome between consecutive runs.
	Flips    int       `json:"flips"`
	Class    string    `json:"class"`
	Messages []Message `json:"messages,omitempty"`
	Earlier  []Outcome `json:"earlier,omitempty"`
}

// Flakiness is the result of a flaky check.
type Flakiness struct {
	Runs       int         `json:"runs"`
	BrokenRuns int         `json:"broken_runs,omitempty"` // runs where the selection did not build
	Tests      []TestStats `json:"tests"`                 // flaky first, then failing, then passing
}

// RunOnce runs the selection once, fresh and isolated, without reruns of
// failures (a rerun that passes would hide the flake); i counts from 0.
type RunOnce func(ctx context.Context, i int) (factory.TestReport, error)

// maxMessages bounds the distinct messages kept per test.
const maxMessages = 5

// Check runs the selection n times and classes each test that ran.
// progress, when set, is called after each run. Errors: those of run; on
// cancellation the runs so far are returned with the error.
func Check(ctx context.Context, n int, run RunOnce, hist History, progress func(done, total int)) (Flakiness, error) {
	res := Flakiness{Tests: []TestStats{}}
	seq := map[string][]bool{} // per test, failed per run
	msgs := map[string][]Message{}
	for i := range n {
		rep, err := run(ctx, i)
		if err != nil {
			return summarize(ctx, res, seq, msgs, hist), err
		}
		res.Runs++
		ran, failed := rep.Ran, map[string]string{}
		for _, f := range rep.Failures {
			for _, k := range testKeys(f) {
				failed[k] = f.Message
			}
		}
		if runOf(rep).Broken {
			res.BrokenRuns++
			continue
		}
		for _, name := range ran {
			msg, bad := failed[name]
			seq[name] = append(seq[name], bad)
			if bad {
				msgs[name] = addMessage(msgs[name], msg)
			}
		}
		for name, msg := range failed { // failures that Ran did not list (subtests, crashes)
			if !slices.Contains(ran, name) {
				seq[name] = append(seq[name], true)
				msgs[name] = addMessage(msgs[name], msg)
			}
		}
		if progress != nil {
			progress(i+1, n)
		}
	}
	return summarize(ctx, res, seq, msgs, hist), nil
}

// summarize turns each test's outcomes into its stats, flaky first.
func summarize(ctx context.Context, res Flakiness, seq map[string][]bool, msgs map[string][]Message, hist History) Flakiness {
	for name, runs := range seq {
		st := TestStats{Name: name, Messages: msgs[name]}
		for j, failed := range runs {
			if failed {
				st.Failures++
			} else {
				st.Passes++
			}
			if j > 0 && failed != runs[j-1] {
				st.Flips++
			}
		}
		total := st.Passes + st.Failures
		st.FailRate = float64(st.Failures) / float64(total)
		st.Interval = Wilson(st.Failures, total)
		switch {
		case st.Failures == 0:
			st.Class = Passing
		case st.Passes == 0:
			st.Class = Failing
		default:
			st.Class = Flaky
		}
		if hist != nil && st.Class != Passing {
			st.Earlier = hist.Earlier(ctx, name)
		}
		res.Tests = append(res.Tests, st)
	}
	order := map[string]int{Flaky: 0, Failing: 1, Passing: 2}
	slices.SortFunc(res.Tests, func(a, b TestStats) int {
		if d := order[a.Class] - order[b.Class]; d != 0 {
			return d
		}
		return strings.Compare(a.Name, b.Name)
	})
	return res
}

// Wilson returns the 95% Wilson score interval of k successes in n
// trials: unlike the normal approximation it stays inside [0, 1] and is
// honest at 0 and n, which is where a flaky check's counts often sit.
func Wilson(k, n int) [2]float64 {
	if n == 0 {
		return [2]float64{0, 1}
	}
	const z = 1.959963984540054
	p, nf := float64(k)/float64(n), float64(n)
	den := 1 + z*z/nf
	centre := (p + z*z/(2*nf)) / den
	half := z * math.Sqrt(p*(1-p)/nf+z*z/(4*nf*nf)) / den
	return [2]float64{round3(math.Max(0, centre-half)), round3(math.Min(1, centre+half))}
}

func round3(x float64) float64 { return math.Round(x*1000) / 1000 }

// numbers are what differs between two printings of the same failure
// (values, durations, addresses): messages are grouped without them.
var numbers = regexp.MustCompile(`0x[0-9a-fA-F]+|[0-9]+(\.[0-9]+)?`)

// addMessage counts msg under its group, keeping the first text seen.
func addMessage(ms []Message, msg string) []Message {
	key := numbers.ReplaceAllString(msg, "N")
	for i := range ms {
		if numbers.ReplaceAllString(ms[i].Text, "N") == key {
			ms[i].Count++
			return ms
		}
	}
	if len(ms) >= maxMessages {
		ms[len(ms)-1].Count++
		if !strings.HasPrefix(ms[len(ms)-1].Text, "(other messages)") {
			ms[len(ms)-1].Text = fmt.Sprintf("(other messages) %s", ms[len(ms)-1].Text)
		}
		return ms
	}
	return append(ms, Message{Text: msg, Count: 1})
}
