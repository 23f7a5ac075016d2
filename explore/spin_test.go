package explore_test

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/schedfuzz/schedfuzz/explore"
	"github.com/schedfuzz/schedfuzz/internal/testenv"
	"github.com/schedfuzz/schedfuzz/sched/points"
)

// TestSpinWaitsEnd: correct programs whose threads wait for each other by
// spinning end under every strategy, 20 runs out of 20, with the output
// they print natively: a sched_yield spin loop and a pure atomic spin (no
// syscall: the scheduler reaches it only through the watchdog's
// preemption) in C, and a Rust AtomicBool spin. A strategy that kept
// running the spinner (PCT's top priority, chaos starving the thread it
// waits for) made them livelock or hang.
func TestSpinWaitsEnd(t *testing.T) {
	testenv.RequirePtrace(t)
	dir := t.TempDir()
	cprog := filepath.Join(dir, "spin_wait")
	if b, err := exec.Command("gcc", "-O1", "-pthread", "-o", cprog, filepath.Join("testdata", "spin_wait.c")).CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v\n%s", err, b)
	}
	type prog struct {
		name string
		argv []string
		want string
	}
	progs := []prog{
		{"c-yield", []string{cprog, "yield", "20"}, "done 20\n"},
		{"c-pure", []string{cprog, "pure", "1"}, "done 1\n"},
	}
	if _, err := exec.LookPath("rustc"); err != nil {
		t.Log("rustc not installed: the Rust AtomicBool spinner is skipped")
	} else {
		rprog := filepath.Join(dir, "spin_flag")
		if b, err := exec.Command("rustc", "-O", "-o", rprog, filepath.Join("testdata", "spin_flag.rs")).CombinedOutput(); err != nil {
			t.Fatalf("rustc: %v\n%s", err, b)
		}
		progs = append(progs, prog{"rust-atomic", []string{rprog}, "seen\n"})
	}
	for _, p := range progs {
		for _, sp := range explore.DefaultPortfolio() {
			t.Run(p.name+"/"+sp.String(), func(t *testing.T) {
				t.Parallel()
				steps := 0
				for i := 0; i < 20; i++ {
					// Unpinned, with a generous timeout: on a loaded
					// machine a pure spinner gets little CPU, and the
					// watchdog preempts after CPU time, not wall time.
					// A livelock shows as -max-steps, long before it.
					r, err := explore.Run(context.Background(), &explore.Target{Path: p.argv[0], Args: p.argv},
						explore.Config{Seed: explore.RunSeed(9, i), Strategy: sp, Timeout: 2 * time.Minute,
							MaxSteps: 100000, Points: points.Sync})
					if err != nil {
						t.Fatal(err)
					}
					if r.Failed() || string(r.Stdout) != p.want {
						t.Fatalf("run %d: %s (%s), output %q, %d decisions; want a clean exit printing %q",
							i, r.Describe(), strings.TrimSpace(r.Outcome.Report), r.Stdout, len(r.Decisions), p.want)
					}
					steps = max(steps, r.Outcome.Steps)
				}
				t.Logf("at most %d scheduling points in a run", steps)
			})
		}
	}
}
