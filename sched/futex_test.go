package sched_test

import (
	"context"
	"os/exec"
	"strings"
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

// TestFutexEdges: the futex paths TestFutexOps leaves out answer as the
// kernel does in every schedule: FUTEX_WAKE_OP with every operation and
// comparison, signed 12-bit arguments and OPARG_SHIFT, a bad operation and
// a bad comparison (applied, then ENOSYS, nobody woken); EFAULT for a bad
// futex word, timeout, requeue source and WAKE_OP target; WAKE_BITSET with
// bitset 0; WAIT_BITSET's absolute CLOCK_MONOTONIC deadline; a partial
// requeue onto the same futex.
func TestFutexEdges(t *testing.T) {
	testenv.RequirePtrace(t)
	path := build(t, "futex_edge")
	everySchedule(t, nativeStdout(t, path), nil, path)
}

// TestFutexUnsupported: FUTEX_LOCK_PI and futex_waitv, which the
// scheduler does not emulate, end the run as Unsupported, naming the
// call, instead of letting a thread wait in the kernel.
func TestFutexUnsupported(t *testing.T) {
	testenv.RequirePtrace(t)
	path := build(t, "futex_edge")
	for _, c := range []struct{ arg, want string }{
		{"pi", "futex op 6"},
		{"waitv", "futex_waitv"},
	} {
		r, err := explore.Run(context.Background(), &explore.Target{Path: path, Args: []string{path, c.arg}},
			explore.Config{Seed: 1, Timeout: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		if r.Outcome.Kind != sched.Unsupported || !strings.Contains(r.Outcome.Report, c.want) {
			t.Errorf("%s: %s (%q), want unsupported naming %q", c.arg, r.Outcome.Kind, r.Outcome.Report, c.want)
		}
	}
}
