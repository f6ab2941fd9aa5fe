package investigate

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/factory-dev/factory"
)

func TestCheckClassesTests(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	run := func(_ context.Context, i int) (factory.TestReport, error) {
		rep := factory.TestReport{Ran: []string{"p.TestBroken", "p.TestCoin", "p.TestFine"}}
		rep.Failures = append(rep.Failures, factory.TestFailure{Package: "p", Name: "TestBroken", Message: "want 2, got 3"})
		if rng.IntN(2) == 0 {
			rep.Failures = append(rep.Failures, factory.TestFailure{Package: "p", Name: "TestCoin", Message: fmt.Sprintf("took %dms", rng.IntN(100))})
		}
		return rep, nil
	}
	res, err := Check(context.Background(), 20, run, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]TestStats{}
	for _, st := range res.Tests {
		byName[st.Name] = st
	}
	coin := byName["p.TestCoin"]
	if coin.Class != Flaky || coin.FailRate < coin.Interval[0] || coin.FailRate > coin.Interval[1] || len(coin.Messages) != 1 {
		t.Fatalf("coin: %+v, want flaky with its rate inside its interval and one grouped message", coin)
	}
	broken := byName["p.TestBroken"]
	if broken.Class != Failing || len(broken.Messages) != 1 || broken.Messages[0].Count != 20 {
		t.Fatalf("broken: %+v, want failing with one message counted 20 times", broken)
	}
	if fine := byName["p.TestFine"]; fine.Class != Passing || fine.Passes != 20 {
		t.Fatalf("fine: %+v, want passing 20 times", fine)
	}
	if res.Tests[0].Class != Flaky {
		t.Fatalf("flaky tests come first: %+v", res.Tests)
	}
}

func TestWilson(t *testing.T) {
	for _, c := range []struct {
		k, n   int
		lo, hi float64
	}{{0, 20, 0, 0.161}, {10, 20, 0.299, 0.701}, {20, 20, 0.839, 1}, {0, 0, 0, 1}} {
		if got := Wilson(c.k, c.n); got != [2]float64{c.lo, c.hi} {
			t.Errorf("Wilson(%d, %d) = %v, want [%v %v]", c.k, c.n, got, c.lo, c.hi)
		}
	}
}
