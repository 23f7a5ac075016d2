package sched_test

import (
	"context"
	"os/exec"
	"testing"
	"time"

	"github.com/schedfuzz/schedfuzz/explore"
	"github.com/schedfuzz/schedfuzz/internal/testenv"
	"github.com/schedfuzz/schedfuzz/sched"
)

// TestFutexOps: every emulated futex operation (WAIT with a changed value,
// a timeout, a bad bitset; WAKE of some waiters; CMP_REQUEUE stale and
// not, also onto the same futex; REQUEUE; WAKE_OP with a true and a false
// comparison; WAIT_BITSET/WAKE_BITSET) answers as the kernel does: the
// program prints what it prints natively, in 10 runs under each strategy.
func TestFutexOps(t *testing.T) {
	testenv.RequirePtrace(t)
	path := build(t, "futex_ops")
	native, err := exec.Command(path).Output()
	if err != nil {
		t.Fatalf("native run: %v", err)
	}
	for _, sp := range explore.DefaultPortfolio() {
		for seed := uint64(1); seed <= 10; seed++ {
			r, err := explore.Run(context.Background(), &explore.Target{Path: path, Args: []string{path}},
				explore.Config{Seed: seed, Strategy: sp, Timeout: time.Minute})
			if err != nil {
				t.Fatal(err)
			}
			if r.Outcome.Kind != sched.Finished || r.Failed() || string(r.Stdout) != string(native) {
				t.Fatalf("%s seed %d: %s\n%s\ngot:\n%s\nnative:\n%s", sp, seed, r.Describe(), r.Outcome.Report, r.Stdout, native)
			}
		}
	}
}
