package corpus

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/schedfuzz/schedfuzz/explore"
	"github.com/schedfuzz/schedfuzz/internal/testenv"
)

// maxScheduledRuns bounds the search for each program's bug. Every bug is
// found in well under 5% of this on average (see TestScheduledReachable's
// log), so not finding one means the program or the scheduler regressed.
const maxScheduledRuns = 300

// TestScheduledReachable runs each program under schedfuzz's scheduler
// with seeds 1, 2, ... until a run fails, and checks that the bug is found
// and fails the documented way (the corpus is only useful if its bugs are
// reachable by switching threads at syscalls).
//
// With SCHEDFUZZ_CORPUS_RATE=N it instead makes exactly N runs of each
// program (seeds 1..N) and logs the scheduled failure rate.
func TestScheduledReachable(t *testing.T) {
	testenv.RequirePtrace(t)
	if testing.Short() {
		t.Skip("runs programs up to hundreds of times under ptrace")
	}
	rateRuns, _ := strconv.Atoi(os.Getenv("SCHEDFUZZ_CORPUS_RATE"))
	paths := buildAll(t)
	for _, p := range Programs() {
		t.Run(p.BinaryName(), func(t *testing.T) {
			path := paths[p.Name]
			tgt := &explore.Target{Path: path, Args: append([]string{path}, p.Args...)}
			start := time.Now()
			if rateRuns > 0 {
				scheduledRate(t, p, tgt, rateRuns)
				return
			}
			for seed := uint64(1); seed <= maxScheduledRuns; seed++ {
				r, err := explore.Run(context.Background(), tgt,
					explore.Config{Seed: seed, Timeout: 20 * time.Second, CPU: 0})
				if err != nil {
					t.Fatalf("seed %d: %v", seed, err)
				}
				if !r.Failed() {
					if string(r.Stdout) != p.Stdout {
						t.Errorf("seed %d: passing run printed %q, want %q", seed, r.Stdout, p.Stdout)
					}
					continue
				}
				t.Logf("found at run %d (%v): %s; stderr %q", seed,
					time.Since(start).Round(time.Millisecond), r.Describe(), r.Stderr)
				if r.Describe() != p.Failure {
					t.Errorf("seed %d: failed by %s, want %s\n%s", seed, r.Describe(), p.Failure, r.Outcome.Report)
				}
				return
			}
			t.Errorf("bug not found in %d scheduled runs (%v)", maxScheduledRuns, time.Since(start).Round(time.Millisecond))
		})
	}
}

func scheduledRate(t *testing.T, p Program, tgt *explore.Target, runs int) {
	start := time.Now()
	fails := map[string]int{}
	n := 0
	for seed := uint64(1); seed <= uint64(runs); seed++ {
		r, err := explore.Run(context.Background(), tgt, explore.Config{Seed: seed, Timeout: 20 * time.Second, CPU: 0})
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		if r.Failed() {
			n++
			fails[r.Describe()]++
		}
	}
	t.Logf("scheduled failure rate %d/%d = %.1f%% %v (%v)", n, runs, 100*float64(n)/float64(runs), fails,
		time.Since(start).Round(time.Millisecond))
}
