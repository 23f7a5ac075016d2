package explore_test

import (
	"context"
	"testing"
	"time"

	"github.com/schedfuzz/schedfuzz/explore"
	"github.com/schedfuzz/schedfuzz/internal/testenv"
	"github.com/schedfuzz/schedfuzz/sched"
)

// TestLivelockSignatureStable: one livelock cut at different steps (at
// either syscall of its loop) has one signature: where the blocked main
// thread waits and the loop the worker goes round.
func TestLivelockSignatureStable(t *testing.T) {
	testenv.RequirePtrace(t)
	path := buildTestdata(t, "busy_loop")
	const want = "livelock @ futex>getpid|getppid"
	for i, steps := range []int{2000, 2001, 3333, 5000} {
		r := runWith(t, path, explore.Config{Seed: uint64(i), Strategy: explore.DefaultPortfolio()[i%4], MaxSteps: steps})
		if r.Outcome.Kind != sched.Livelock {
			t.Fatalf("max-steps %d: %s, want a livelock", steps, r.Describe())
		}
		if got := explore.Signature(r); got != want {
			t.Fatalf("max-steps %d: signature %q, want %q", steps, got, want)
		}
	}
}

// TestMinimizeLivelockWithinItsLength: minimizing a livelock never runs a
// candidate past the original's steps, and the minimized run is the same
// livelock.
func TestMinimizeLivelockWithinItsLength(t *testing.T) {
	testenv.RequirePtrace(t)
	path := buildTestdata(t, "busy_loop")
	tgt := &explore.Target{Path: path, Args: []string{path}}
	cfg := explore.Config{Seed: 3, Strategy: explore.Spec{Name: "random"}, MaxSteps: 3000, Timeout: time.Minute}
	orig, err := explore.Run(context.Background(), tgt, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if orig.Outcome.Kind != sched.Livelock {
		t.Fatalf("original: %s", orig.Describe())
	}
	m := &explore.Minimizer{Target: tgt, Config: cfg, MaxRuns: 40}
	min, err := m.Minimize(context.Background(), orig)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d preemptions -> %d in %d runs", min.Original, min.Items, min.Runs)
	if min.Result.Outcome.Steps > orig.Outcome.Steps || explore.Signature(min.Result) != explore.Signature(orig) {
		t.Fatalf("minimized: %s in %d steps (original %s in %d)", explore.Signature(min.Result), min.Result.Outcome.Steps,
			explore.Signature(orig), orig.Outcome.Steps)
	}
	if min.Items > 0 {
		t.Fatalf("a livelock that needs no preemption kept %d", min.Items)
	}
}

// TestMinimizeHangWithinItsLength: minimizing a hang cuts candidates at
// the original's steps (a candidate that gets there without ending is the
// hang again) instead of running each to the timeout.
func TestMinimizeHangWithinItsLength(t *testing.T) {
	testenv.RequirePtrace(t)
	path := buildTestdata(t, "spin_forever")
	tgt := &explore.Target{Path: path, Args: []string{path}}
	cfg := explore.Config{Seed: 1, Strategy: explore.Spec{Name: "random"}, Timeout: 2 * time.Second}
	orig, err := explore.Run(context.Background(), tgt, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !orig.Hang || orig.ReplaySteps() != max(len(orig.Decisions), 1) {
		t.Fatalf("original: %s, replay steps %d of %d decisions", orig.Describe(), orig.ReplaySteps(), len(orig.Decisions))
	}
	m := &explore.Minimizer{Target: tgt, Config: cfg, MaxRuns: 10}
	min, err := m.Minimize(context.Background(), orig)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s (%d steps): %d preemptions -> %d in %d runs; minimized %s in %d steps", explore.Signature(orig), orig.Outcome.Steps,
		min.Original, min.Items, min.Runs, explore.Signature(min.Result), min.Result.Outcome.Steps)
	if !min.Result.Hang || len(min.Result.Decisions) > len(orig.Decisions) || min.Result.ReplaySteps() > max(len(orig.Decisions), 1) {
		t.Fatalf("minimized: %s in %d decisions, replay steps %d; original %d decisions", min.Result.Describe(),
			len(min.Result.Decisions), min.Result.ReplaySteps(), len(orig.Decisions))
	}
}
