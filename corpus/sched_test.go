package corpus

import (
	"bytes"
	"context"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/schedfuzz/schedfuzz/explore"
	"github.com/schedfuzz/schedfuzz/intercept/symbols"
	"github.com/schedfuzz/schedfuzz/internal/testenv"
	"github.com/schedfuzz/schedfuzz/replay"
	"github.com/schedfuzz/schedfuzz/sched"
	"github.com/schedfuzz/schedfuzz/sched/points"
	"github.com/schedfuzz/schedfuzz/sched/points/memsites"
)

// maxScheduledRuns bounds the search for each program's bug. Every bug is
// found in well under 5% of this on average (see TestScheduledReachable's
// log), so not finding one means the program or the scheduler regressed.
const maxScheduledRuns = 300

// replaysPerBug is how many times each found failure is replayed.
const replaysPerBug = 10

// maxMemoryRuns bounds the search for the bugs that need memory points,
// made as `schedfuzz -points memory -p 2` makes them (the portfolio of
// strategies, learned hints), and the runs with sync points that must
// not find them.
const maxMemoryRuns = 1000

// symbolCache and siteCache are shared by every run of the tests (ELF
// files parse once, objects are disassembled once).
var (
	symbolCache = symbols.NewCache(nil)
	siteCache   = memsites.NewCache("")
)

// pointConfig is the run configuration p's bug needs.
func pointConfig(p Program, cache *symbols.Cache) explore.Config {
	cfg := explore.Config{Timeout: 20 * time.Second, Points: p.Points, Watch: p.Watch, Symbols: cache}
	if p.Points == points.Memory {
		cfg.Memory = sched.MemoryConfig{Sites: siteCache, Watch: 2}
	}
	return cfg
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
		if !p.NeedsPoints() || p.Points == points.Memory {
			continue // TestSyncPointsMissIt: sync points include syscall points
		}
		t.Run(p.BinaryName(), func(t *testing.T) {
			path := paths[p.Name]
			tgt := &explore.Target{Path: path, Args: append([]string{path}, p.Args...)}
			start := time.Now()
			for seed := uint64(1); seed <= uint64(runs); seed++ {
				r, err := explore.Run(context.Background(), tgt, explore.Config{Seed: seed, Timeout: 20 * time.Second})
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
			if p.Points == points.Memory {
				memoryReachable(t, p, tgt)
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
	strategy := cfg.Strategy
	if strategy.Name == "" {
		strategy.Name = "random"
	}
	sf := &replay.SeedFile{Tool: "corpus test", Target: tgt.Args[0], SHA256: sum, Args: tgt.Args[1:],
		Seed: found.Seed, Strategy: strategy.String(), Outcome: found.Describe(), Signature: explore.Signature(found),
		Digest: replay.Digest(found.Decisions), Decisions: found.Decisions}
	if found.Points == points.Memory {
		// The sites the run planted, as the CLI records them.
		sf.Points.Name = found.Points.String()
		for _, rp := range found.Outcome.Points {
			sf.Points.Points = append(sf.Points.Points, replay.Point{Spec: rp.Name, Addrs: rp.Addrs})
		}
	}
	data, err := sf.Encode()
	if err != nil {
		t.Fatalf("encode the seed file: %v", err)
	}
	back, err := replay.Parse(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("parse the seed file: %v", err)
	}
	if found.Points == points.Memory {
		cfg.Memory.Plant = map[uint64]string{}
		for _, pt := range back.Points.Points {
			if sched.IsMemoryPoint(pt.Spec) {
				for _, a := range pt.Addrs {
					cfg.Memory.Plant[a] = pt.Spec
				}
			}
		}
		if len(cfg.Memory.Plant) == 0 {
			t.Fatalf("the seed file records no memory site:\n%s", data)
		}
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

// session runs p as `schedfuzz -runs max -p 2 -seed 1` does with set (the
// default portfolio of strategies, hints learned from earlier runs) until
// a run fails the documented way: it returns that run and its strategy, or
// nil, and the number of runs reported. Passing runs must print the
// documented output; runs that fail otherwise are logged.
func session(t *testing.T, p Program, tgt *explore.Target, set points.Set, max int) (*explore.Result, explore.Spec, int) {
	t.Helper()
	cfg := pointConfig(p, symbolCache)
	cfg.Points = set
	if set == points.Memory && cfg.Memory.Sites == nil {
		cfg.Memory = sched.MemoryConfig{Sites: siteCache, Watch: 2}
	}
	cfg.Plan = points.NewPlan(set, nil)
	var (
		found *explore.Result
		spec  explore.Spec
		n     int
	)
	s := &explore.Session{Target: tgt, Seed: 1, Runs: max, Parallel: 2, Template: cfg,
		Report: func(rep *explore.RunReport) bool {
			n++
			switch {
			case rep.Err != nil:
				t.Errorf("run %d: %v", rep.Index, rep.Err)
				return true
			case rep.Result.Outcome.Kind != sched.Finished && rep.Result.Outcome.Kind != sched.Deadlock:
				t.Errorf("run %d: %s: %s", rep.Index, rep.Result.Outcome.Kind, rep.Result.Outcome.Report)
				return true
			case rep.Verdict == explore.Fail && rep.Result.Describe() != p.Failure:
				// Not the program's bug (a run cut at its timeout on a
				// loaded machine): said, not counted.
				t.Logf("run %d (%s) failed otherwise than the bug: %s\n%s", rep.Index, rep.Strategy, rep.Result.Describe(), rep.Result.Outcome.Report)
				return false
			case rep.Verdict == explore.Fail:
				if _, err := (&replay.SeedFile{Target: "x", SHA256: strings.Repeat("0", 64), Decisions: rep.Result.Decisions}).Encode(); err != nil {
					// Not a failure the CLI could save (chaos's idle
					// picks, before the seed format took them).
					t.Logf("run %d (%s) failed but cannot be recorded: %v; searching on", rep.Index, rep.Strategy, err)
					return false
				}
				found, spec = rep.Result, rep.Strategy
				return true
			case string(rep.Result.Stdout) != p.Stdout:
				t.Errorf("run %d: passing run printed %q, want %q", rep.Index, rep.Result.Stdout, p.Stdout)
			}
			return false
		}}
	if _, err := s.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	return found, spec, n
}

// memoryReachable: a bug whose window holds neither a syscall nor a sync
// call is found with memory points within maxMemoryRuns runs, fails the
// documented way, and replays 10 times out of 10 from its seed file (the
// sites the run planted, recorded there, planted again).
func memoryReachable(t *testing.T, p Program, tgt *explore.Target) {
	start := time.Now()
	r, spec, n := session(t, p, tgt, points.Memory, maxMemoryRuns)
	if r == nil {
		t.Fatalf("bug not found in %d runs with memory points (%v)", n, time.Since(start).Round(time.Millisecond))
	}
	t.Logf("found at run %d (%s, %v): %s; stderr %q", n, spec, time.Since(start).Round(time.Millisecond), r.Describe(), r.Stderr)
	if r.Describe() != p.Failure {
		t.Errorf("failed by %s, want %s\n%s", r.Describe(), p.Failure, r.Outcome.Report)
	}
	if len(r.Outcome.Nondeterministic) > 0 {
		t.Fatalf("the failing run is marked %q", r.Outcome.Nondeterministic)
	}
	cfg := pointConfig(p, symbolCache)
	cfg.Strategy = spec
	checkReplays(t, tgt, r, cfg)
}

// TestSyncPointsMissIt: a bug whose window holds neither a syscall nor a
// sync call is not found in 1000 runs with sync points (100 with -short),
// made as the CLI makes them; with memory points (TestScheduledReachable)
// it is.
func TestSyncPointsMissIt(t *testing.T) {
	testenv.RequirePtrace(t)
	runs := maxMemoryRuns
	if testing.Short() {
		runs = 100
	}
	paths := buildAll(t)
	for _, p := range Programs() {
		if p.Points != points.Memory {
			continue
		}
		t.Run(p.BinaryName(), func(t *testing.T) {
			path := paths[p.Name]
			tgt := &explore.Target{Path: path, Args: append([]string{path}, p.Args...)}
			start := time.Now()
			if r, spec, n := session(t, p, tgt, points.Sync, runs); r != nil {
				t.Fatalf("found with sync points at run %d (%s): %s %q", n, spec, r.Describe(), r.Stderr)
			} else if n != runs && !t.Failed() {
				t.Fatalf("%d runs reported, want %d", n, runs)
			}
			t.Logf("%d runs with sync points, no failure (%v)", runs, time.Since(start).Round(time.Millisecond))
		})
	}
}
