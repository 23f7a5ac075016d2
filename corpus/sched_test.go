package corpus

import (
	"bytes"
	"context"
	"os"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/schedfuzz/schedfuzz/explore"
	"github.com/schedfuzz/schedfuzz/intercept/symbols"
	"github.com/schedfuzz/schedfuzz/internal/testenv"
	"github.com/schedfuzz/schedfuzz/replay"
	"github.com/schedfuzz/schedfuzz/sched"
)

// maxScheduledRuns bounds the search for each program's bug. Every bug is
// found in well under 5% of this on average (see TestScheduledReachable's
// log), so not finding one means the program or the scheduler regressed.
const maxScheduledRuns = 300

// replaysPerBug is how many times each found failure is replayed.
const replaysPerBug = 10

// symbolCache is shared by every run of the tests (ELF files parse once).
var symbolCache = symbols.NewCache(nil)

// pointConfig is the run configuration p's bug needs.
func pointConfig(p Program, cache *symbols.Cache) explore.Config {
	return explore.Config{Timeout: 20 * time.Second, CPU: 0, Points: p.Points, Watch: p.Watch, Symbols: cache}
}

// TestSyscallPointsMissIt: a bug whose window holds no syscall is not
// found in 1000 runs with syscall points only (100 with -short); with its
// points (TestScheduledReachable) it is.
func TestSyscallPointsMissIt(t *testing.T) {
	testenv.RequirePtrace(t)
	runs := 1000
	if testing.Short() {
		runs = 100
	}
	paths := buildAll(t)
	for _, p := range Programs() {
		if !p.NeedsPoints() {
			continue
		}
		t.Run(p.BinaryName(), func(t *testing.T) {
			path := paths[p.Name]
			tgt := &explore.Target{Path: path, Args: append([]string{path}, p.Args...)}
			start := time.Now()
			for seed := uint64(1); seed <= uint64(runs); seed++ {
				r, err := explore.Run(context.Background(), tgt, explore.Config{Seed: seed, Timeout: 20 * time.Second, CPU: 0})
				if err != nil {
					t.Fatalf("seed %d: %v", seed, err)
				}
				if r.Failed() {
					t.Fatalf("seed %d: found with syscall points only: %s %q", seed, r.Describe(), r.Stderr)
				}
				if string(r.Stdout) != p.Stdout {
					t.Fatalf("seed %d: printed %q, want %q", seed, r.Stdout, p.Stdout)
				}
			}
			t.Logf("%d runs with syscall points, no failure (%v)", runs, time.Since(start).Round(time.Millisecond))
		})
	}
}

// TestScheduledReachable runs each program under schedfuzz's scheduler
// with seeds 1, 2, ... until a run fails, and checks that the bug is found
// and fails the documented way (the corpus is only useful if its bugs are
// reachable by switching threads at syscalls). The failing run then goes
// through a seed file (Encode, Parse) and replays 10 times out of 10 with
// the identical decision trace, output and outcome.
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
			found := false
			for seed := uint64(1); seed <= maxScheduledRuns; seed++ {
				cfg := pointConfig(p, symbolCache)
				cfg.Seed = seed
				r, err := explore.Run(context.Background(), tgt, cfg)
				if err != nil {
					t.Fatalf("seed %d: %v", seed, err)
				}
				if !r.Failed() {
					if string(r.Stdout) != p.Stdout {
						t.Errorf("seed %d: passing run printed %q, want %q", seed, r.Stdout, p.Stdout)
					}
					continue
				}
				if !found {
					t.Logf("found at run %d (%v): %s; stderr %q", seed,
						time.Since(start).Round(time.Millisecond), r.Describe(), r.Stderr)
				}
				found = true
				if r.Describe() != p.Failure {
					t.Errorf("seed %d: failed by %s, want %s\n%s", seed, r.Describe(), p.Failure, r.Outcome.Report)
				}
				if len(r.Outcome.Nondeterministic) > 0 {
					// Documented as possibly not replaying (a wall-clock
					// preemption on a loaded machine): replay a clean one.
					t.Logf("seed %d: %q; looking for a failure to replay without such notes", seed, r.Outcome.Nondeterministic)
					continue
				}
				checkReplays(t, tgt, r, pointConfig(p, symbolCache))
				return
			}
			if found {
				t.Errorf("every failure in %d scheduled runs was marked as possibly not replaying", maxScheduledRuns)
				return
			}
			t.Errorf("bug not found in %d scheduled runs (%v)", maxScheduledRuns, time.Since(start).Round(time.Millisecond))
		})
	}
}

// checkReplays saves found as a seed file, reads it back and replays it
// replaysPerBug times: every replay must follow the trace to its end, make
// the identical decisions (kind, options, point and choice, in order) and
// print the identical stdout and stderr, and end the same way.
func checkReplays(t *testing.T, tgt *explore.Target, found *explore.Result, cfg explore.Config) {
	t.Helper()
	sum, err := replay.FileSHA256(tgt.Path)
	if err != nil {
		t.Fatal(err)
	}
	sf := &replay.SeedFile{Tool: "corpus test", Target: tgt.Args[0], SHA256: sum, Args: tgt.Args[1:],
		Seed: found.Seed, Strategy: "random", Outcome: found.Describe(), Signature: explore.Signature(found),
		Digest: replay.Digest(found.Decisions), Decisions: found.Decisions}
	data, err := sf.Encode()
	if err != nil {
		t.Fatalf("encode the seed file: %v", err)
	}
	back, err := replay.Parse(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("parse the seed file: %v", err)
	}
	start := time.Now()
	for i := range replaysPerBug {
		cfg.Seed, cfg.Replay = back.Seed, back.Decisions
		r, err := explore.Run(context.Background(), tgt, cfg)
		if err != nil {
			t.Fatalf("replay %d: %v", i, err)
		}
		if r.Outcome.Kind == sched.Diverged {
			t.Fatalf("replay %d of %d decisions diverged: %s\nnotes of the recorded run: %q",
				i, len(found.Decisions), r.Outcome.Report, found.Outcome.Nondeterministic)
		}
		if !reflect.DeepEqual(r.Decisions, found.Decisions) || replay.Digest(r.Decisions) != back.Digest {
			t.Fatalf("replay %d: %d decisions differ from the recorded %d", i, len(r.Decisions), len(found.Decisions))
		}
		if r.Describe() != found.Describe() || !bytes.Equal(r.Stdout, found.Stdout) || !bytes.Equal(r.Stderr, found.Stderr) {
			t.Fatalf("replay %d: %s, stdout %q, stderr %q; recorded %s, %q, %q", i,
				r.Describe(), r.Stdout, r.Stderr, found.Describe(), found.Stdout, found.Stderr)
		}
	}
	t.Logf("replayed %d/%d (%d decisions, %v)", replaysPerBug, replaysPerBug, len(found.Decisions),
		time.Since(start).Round(time.Millisecond))
}

func scheduledRate(t *testing.T, p Program, tgt *explore.Target, runs int) {
	start := time.Now()
	fails := map[string]int{}
	n := 0
	for seed := uint64(1); seed <= uint64(runs); seed++ {
		cfg := pointConfig(p, symbolCache)
		cfg.Seed = seed
		r, err := explore.Run(context.Background(), tgt, cfg)
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
