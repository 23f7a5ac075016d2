package sched_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/schedfuzz/schedfuzz/explore"
	"github.com/schedfuzz/schedfuzz/internal/testenv"
	"github.com/schedfuzz/schedfuzz/replay"
)

// spinRun is what must not change between an idle and a loaded machine.
type spinRun struct {
	seed     uint64
	strategy explore.Spec
	outcome  string
	digest   string
	spins    string
	res      *explore.Result
}

func runSpin(t *testing.T, path string, seed uint64, sp explore.Spec) spinRun {
	t.Helper()
	r, err := explore.Run(context.Background(), &explore.Target{Path: path, Args: []string{path}},
		explore.Config{Seed: seed, Strategy: sp, Timeout: 60 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range r.Outcome.Nondeterministic {
		if strings.Contains(n, "timing") {
			t.Fatalf("seed %d (%v): %s", seed, sp, n)
		}
	}
	return spinRun{seed: seed, strategy: sp, outcome: r.Describe(), digest: replay.Digest(r.Decisions),
		spins: fmt.Sprint(r.Spins), res: r}
}

// TestSpinDeterministicUnderLoad: programs whose threads spin-wait or
// compute for tens of milliseconds without a syscall make the same
// decisions for the same seed with and without two CPU hogs on the
// machine: the watchdog only finds their loops (spin sites, sched/spin.go),
// and preemptions happen at counted hits of them. Their failing runs
// replay under load every time.
func TestSpinDeterministicUnderLoad(t *testing.T) {
	testenv.RequirePtrace(t)
	strategies := explore.DefaultPortfolio()
	for _, prog := range []string{"compute_race", "spin_race"} {
		t.Run(prog, func(t *testing.T) {
			path := build(t, prog)
			var idle []spinRun
			for seed := range uint64(4) {
				idle = append(idle, runSpin(t, path, seed, strategies[seed%4]))
			}
			stop := startHogs(t)
			defer stop()
			failing := 0
			for _, a := range idle {
				b := runSpin(t, path, a.seed, a.strategy)
				t.Logf("seed %d (%v): %s, %d decisions, %d reruns, spin sites %s", a.seed, a.strategy, a.outcome, len(a.res.Decisions), a.res.Reruns, a.spins)
				if a.outcome != b.outcome || a.digest != b.digest || a.spins != b.spins {
					t.Errorf("seed %d (%v): idle %s %s %s, loaded %s %s %s", a.seed, a.strategy,
						a.outcome, a.digest[:12], a.spins, b.outcome, b.digest[:12], b.spins)
				}
				if a.spins == "[]" {
					t.Errorf("seed %d: no spin site found", a.seed)
				}
				if !a.res.Failed() || failing >= 1 {
					continue
				}
				failing++
				for i := range 10 {
					r, err := explore.Run(context.Background(), &explore.Target{Path: path, Args: []string{path}},
						explore.Config{Seed: a.seed, Strategy: a.strategy, Timeout: 60 * time.Second,
							Replay: a.res.Decisions, Spins: a.res.Spins})
					if err != nil {
						t.Fatal(err)
					}
					if r.Divergence != nil || r.Describe() != a.outcome {
						t.Fatalf("replay %d of seed %d under load: %s (%v), want %s", i, a.seed, r.Describe(), r.Divergence, a.outcome)
					}
				}
			}
			if failing == 0 {
				t.Errorf("no failing run in %d", len(idle))
			}
		})
	}
}

// startHogs starts two CPU hogs; the returned function stops them.
func startHogs(t *testing.T) func() {
	t.Helper()
	var stops []func()
	sub := &hogT{TB: t, cleanups: &stops}
	testenv.CPUHogs(sub, 2)
	return func() {
		for _, f := range slices.Backward(stops) {
			f()
		}
	}
}

// hogT runs a testing.TB's cleanups when the caller says, not at the end
// of the test.
type hogT struct {
	testing.TB
	cleanups *[]func()
}

func (h *hogT) Cleanup(f func()) { *h.cleanups = append(*h.cleanups, f) }
