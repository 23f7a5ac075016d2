package explore_test

import (
	"bytes"
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/schedfuzz/schedfuzz/explore"
	"github.com/schedfuzz/schedfuzz/internal/testenv"
	"github.com/schedfuzz/schedfuzz/sched"
	"github.com/schedfuzz/schedfuzz/sched/points"
)

// forced counts a trace's forced preemptions: picks at a thread's point
// that chose another thread although it could have run on.
func forced(ds []sched.Decision) int {
	n := 0
	for _, d := range ds {
		if d.Kind != sched.KindPick {
			continue
		}
		var v int
		var name string
		if c, _ := fmtSscanf(d.At, &v, &name); c != 2 {
			continue
		}
		for _, o := range d.Options {
			if o == v && d.Choice != v {
				n++
			}
		}
	}
	return n
}

// firstFailure runs path with cfg at seeds 0, 1, ... until one fails
// (at most 500), and returns that run and its configuration.
func firstFailure(t *testing.T, path string, cfg explore.Config) (*explore.Result, explore.Config) {
	t.Helper()
	for i := range 500 {
		cfg.Seed = uint64(i)
		if r := runWith(t, path, cfg); r.Failed() {
			return r, cfg
		}
	}
	t.Fatal("no failure in 500 runs")
	return nil, cfg
}

// TestMinimizeAndRootCause: a failing random schedule shrinks to a
// handful of preemptions that still fail the same way and replay exactly,
// and the root cause names two events of two different threads whose swap
// turns the failure into a pass.
func TestMinimizeAndRootCause(t *testing.T) {
	testenv.RequirePtrace(t)
	for _, name := range []string{"lost_update", "abba"} {
		t.Run(name, func(t *testing.T) {
			path := buildExample(t, name)
			tgt := &explore.Target{Path: path, Args: []string{path}}
			found, cfg := firstFailure(t, path, explore.Config{Timeout: 20 * time.Second})
			m := &explore.Minimizer{Target: tgt, Config: cfg}
			min, err := m.Minimize(context.Background(), found)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: %d forced items -> %d in %d runs (trace preemptions %d -> %d)", found.Describe(),
				min.Original, min.Items, min.Runs, forced(found.Decisions), forced(min.Result.Decisions))
			if min.Items != 1 || min.Items > min.Original { // one preemption is the minimum for both bugs
				t.Fatalf("minimized to %d items (from %d)", min.Items, min.Original)
			}
			if explore.Signature(min.Result) != explore.Signature(found) {
				t.Fatalf("minimized run fails differently: %s vs %s", explore.Signature(min.Result), explore.Signature(found))
			}
			if forced(min.Result.Decisions) != min.Items {
				t.Fatalf("minimized trace has %d preemptions, minimizer says %d", forced(min.Result.Decisions), min.Items)
			}
			r := runWith(t, path, explore.Config{Seed: cfg.Seed, Replay: min.Result.Decisions})
			if !reflect.DeepEqual(r.Decisions, min.Result.Decisions) || !bytes.Equal(r.Stdout, min.Result.Stdout) || r.Describe() != found.Describe() {
				t.Fatalf("minimized seed does not replay: %s (%s)", r.Describe(), r.Outcome.Report)
			}
			cause, err := m.RootCause(context.Background(), min)
			if err != nil {
				t.Fatal(err)
			}
			if cause == nil {
				t.Fatal("no root cause found")
			}
			t.Logf("critical pair: %s <-> %s", cause.First, cause.Second)
			if cause.First.Thread == cause.Second.Thread || cause.First.Name == "" || cause.Second.Name == "" || cause.First.Name == "?" || cause.Second.Name == "?" {
				t.Fatalf("bad pair %+v / %+v", cause.First, cause.Second)
			}
			if cause.Passing.Failed() || !cause.Failing.Failed() {
				t.Fatalf("passing run %s, failing run %s", cause.Passing.Describe(), cause.Failing.Describe())
			}
		})
	}
}

// TestRootCauseMemory: with memory points, the critical pair of the lost
// update is its two racing accesses to the counter: one worker's store
// (preempted between its load and its store) and the other worker's
// load of the same variable, not whatever the preempting pick ran first.
func TestRootCauseMemory(t *testing.T) {
	testenv.RequirePtrace(t)
	path := buildExample(t, "lost_update")
	tgt := &explore.Target{Path: path, Args: []string{path}}
	found, cfg := firstFailure(t, path, explore.Config{Timeout: 20 * time.Second, Points: points.Memory,
		Memory: sched.MemoryConfig{Sample: 100}})
	m := &explore.Minimizer{Target: tgt, Config: cfg}
	min, err := m.Minimize(context.Background(), found)
	if err != nil {
		t.Fatal(err)
	}
	cause, err := m.RootCause(context.Background(), min)
	if err != nil || cause == nil {
		t.Fatalf("no root cause: %v", err)
	}
	t.Logf("critical pair: %s <-> %s", cause.First, cause.Second)
	if cause.First.Thread == cause.Second.Thread || !strings.HasPrefix(cause.First.Name, "mem@worker") ||
		!strings.HasPrefix(cause.Second.Name, "mem@worker") {
		t.Errorf("critical pair %s <-> %s: want the two workers' accesses to the counter", cause.First, cause.Second)
	}
}

func fmtSscanf(at string, v *int, name *string) (int, error) {
	return fmt.Sscanf(at, "t%d:%s", v, name)
}

// TestMinimizeLongRun: minimizing a failing run of about a million
// decisions (two threads making cheap syscalls, a lost update at the end)
// is bounded by the budget: ddmin works over the run's preemptions, not
// its decisions, candidates longer than the original are cut, and the
// time budget ends Minimize and RootCause (bookkeeping and the candidate
// in flight included) without an error.
func TestMinimizeLongRun(t *testing.T) {
	testenv.RequirePtrace(t)
	path := buildTestdata(t, "long_run")
	tgt := &explore.Target{Path: path, Args: []string{path, "500000"}}
	cfg := explore.Config{Seed: 1, Strategy: explore.Spec{Name: "random"}, Timeout: 10 * time.Minute}
	orig, err := explore.Run(context.Background(), tgt, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !orig.Failed() || len(orig.Decisions) < 900_000 {
		t.Fatalf("the long run: %s with %d decisions, want a failure with about a million", orig.Describe(), len(orig.Decisions))
	}
	const budget = 10 * time.Second
	m := &explore.Minimizer{Target: tgt, Config: cfg, MaxTime: budget}
	min, err := m.Minimize(context.Background(), orig)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d decisions, %d preemptions; minimized to %d in %d runs (exhausted %v)",
		len(orig.Decisions), min.Original, min.Items, min.Runs, min.Exhausted)
	if want := forced(orig.Decisions); min.Original != want {
		t.Fatalf("minimizing over %d items, the run has %d preemptions", min.Original, want)
	}
	if min.Original >= len(orig.Decisions)*3/4 {
		t.Fatalf("%d items of %d decisions: not over preemptions only", min.Original, len(orig.Decisions))
	}
	// A candidate takes about as long as the original run, so the budget
	// (not 1-minimality) ends the search after a few runs.
	if !min.Exhausted || min.Runs > 20 || min.Items > min.Original {
		t.Fatalf("exhausted %v after %d runs, %d items of %d", min.Exhausted, min.Runs, min.Items, min.Original)
	}
	if s := min.Result.Outcome.Steps; s > 2*orig.Outcome.Steps+1000 {
		t.Fatalf("the minimized run took %d steps, the original %d", s, orig.Outcome.Steps)
	}
	cause, err := m.RootCause(context.Background(), min)
	if err != nil {
		t.Fatalf("RootCause after the budget: %v", err)
	}
	t.Logf("root cause within the budget: %v", cause != nil)
}
