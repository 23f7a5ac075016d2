// Package schedtest makes a Go test explore its own schedules under
// schedfuzz, inside `go test`:
//
//	func TestCounter(t *testing.T) {
//		schedtest.Run(t, func(t *testing.T) {
//			// the test's body: goroutines, sync.Mutex, channels...
//		})
//	}
//
// Run has two sides. In the child (the environment variable ChildEnv is
// set) it simply calls the function as the test's body. In the parent,
// the `go test` process, it never calls it: it runs the test binary
// itself (os.Args[0]) again for exactly this test (-test.run anchored to
// its full name, one anchored pattern per subtest level: ^TestX$/^sub$),
// with ChildEnv set, under schedfuzz's scheduler (package hunt):
//
//  1. it replays every seed file under testdata/schedfuzz/<TestName>/ (a
//     regression corpus, as testdata/fuzz is for go test -fuzz); a seed
//     that still fails fails the test with its report;
//  2. it explores -schedtest.runs runs (default 100, 10 with -short), or
//     for -schedtest.time, from the session seed -schedtest.seed; the
//     first failing run is saved as a seed file under
//     testdata/schedfuzz/<TestName>/, minimized, and fails the test with
//     its report and the commands that replay it.
//
// The test binary must keep its symbol table and DWARF, which `go test`
// strips unless told otherwise: run go test with LinkFlags
// ('-ldflags=-s=false -w=false'); Run refuses a stripped binary.
//
// A run's output is the child's `go test -test.v` output; the run fails
// when the child exits other than 0 (a failing test, a panic, a race the
// race detector reports, a deadlock, a hang, a livelock). A child that
// exits 0 without having run the test (a -test.run pattern that matched
// nothing, a TestMain that skips m.Run) is an error of the test, not a
// pass.
//
// # Design
//
//   - Points: -points sync (function entries of sync.Mutex, RWMutex,
//     WaitGroup, Cond, channel operations and go statements, besides
//     system calls): a window between two uncontended sync.Mutex
//     sections has no system call in it.
//   - The session seed is, unless -schedtest.seed says otherwise, a hash
//     of the test's full name: `go test` explores the same schedules
//     every time, so a passing test stays passing until its code
//     changes (-schedtest.seed=random explores new ones).
//   - Runs are not sandboxed (a test's files are its package's), and see
//     the parent's environment plus ChildEnv. Seed files record only
//     ChildEnv and no working directory: a corpus committed to version
//     control replays on any machine, in the package directory.
//   - A seed replays in the current test binary, whose path changes with
//     every `go test`. If its SHA-256 is the recorded one the replay is
//     exact; if the test or the code under test changed, the recorded
//     schedule is followed as far as it applies and the rest of the run
//     is not preempted (hunt.FollowPrefix): a run that passes then says
//     the change fixed the failure as far as that schedule shows, and the
//     seed stays as a regression test.
//   - Under -race the child is the race-enabled binary: the race
//     runtime's threads and system calls run under the scheduler like
//     the program's (see the README's Go tests section for what was
//     measured).
package schedtest

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"hash/fnv"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/schedfuzz/schedfuzz/explore"
	"github.com/schedfuzz/schedfuzz/hunt"
	"github.com/schedfuzz/schedfuzz/intercept/symbols"
	"github.com/schedfuzz/schedfuzz/internal/testenv"
	"github.com/schedfuzz/schedfuzz/replay"
	"github.com/schedfuzz/schedfuzz/report"
)

// ChildEnv is the environment variable that marks the child: Run calls
// its function only where it is set (to the test's full name).
const ChildEnv = "SCHEDFUZZ_SCHEDTEST_CHILD"

// Defaults.
const (
	DefaultRuns      = 100
	DefaultShortRuns = 10
	// runTimeout is a run's limit (its own time, explore.Config): a
	// test run past it is a hang.
	runTimeout = 30 * time.Second
	// cpus is the CPU count the child sees (its GOMAXPROCS).
	cpus = 4
	// points is the point set of every run.
	points = "sync"
	// corpusDir holds the seed files, one directory per test.
	corpusDir = "testdata/schedfuzz"
)

var (
	runsFlag = flag.Int("schedtest.runs", -1, "runs each schedtest.Run explores after replaying its seeds (default 100, 10 with -short; 0: replay only)")
	timeFlag = flag.Duration("schedtest.time", 0, "time each schedtest.Run explores for instead of a run count (an explicit -schedtest.runs still bounds it)")
	seedFlag = flag.String("schedtest.seed", "", "session seed of the exploration (default: a hash of the test's name; random: a new one each time)")
)

// Run runs body as the test t under schedfuzz: in the parent it replays
// t's seeds and explores t's schedules in child processes, failing t
// with a report if one fails; in the child it calls body(t).
func Run(t *testing.T, body func(t *testing.T)) {
	t.Helper()
	if os.Getenv(ChildEnv) != "" {
		body(t)
		return
	}
	testenv.RequirePtrace(t)
	s, err := newSession(t)
	if err != nil {
		t.Fatalf("schedtest: %v", err)
	}
	ctx, stop := signal.NotifyContext(t.Context(), os.Interrupt)
	defer stop()
	if s.replaySeeds(ctx) {
		return // failed: a seed reproduces
	}
	s.explore(ctx)
}

// session is one Run in the parent.
type session struct {
	t      *testing.T
	name   string // the test's full name
	exe    string // the test binary
	env    []string
	corpus string // testdata/schedfuzz/<TestName>
	h      *hunt.Hunt
}

func newSession(t *testing.T) (*session, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("the test binary: %w", err)
	}
	if err := checkSymbols(exe); err != nil {
		return nil, err
	}
	name := t.Name()
	marker := ChildEnv + "=" + name
	env := append(os.Environ(), marker)
	sum, err := replay.FileSHA256(exe)
	if err != nil {
		return nil, err
	}
	// Seed files name the kept copy of the binary (keepBinary, when a
	// seed is saved), the package directory (Dir "", not recorded) and
	// only the marker of the environment (see the package doc).
	kept := keptBinary(exe, sum)
	args := []string{kept, "-test.run=" + RunPattern(name), "-test.count=1", "-test.v=true"}
	if testing.Short() {
		args = append(args, "-test.short=true")
	}
	prog := &hunt.Program{Name: kept, Path: exe, Args: args, Env: env, SHA256: sum, RecordEnv: []string{marker}}
	pts := &hunt.Points{Set: points}
	if err := pts.Parse(); err != nil {
		return nil, err
	}
	corpus := filepath.Join(corpusDir, filepath.FromSlash(name))
	h := &hunt.Hunt{Program: prog, Tool: "schedfuzz schedtest", Store: replay.Store{Dir: corpus},
		Classify: explore.Classifier{ExpectExit: []int{0}}, Points: pts,
		Timeout: runTimeout, CPUs: cpus, MaxSteps: explore.DefaultMaxSteps, LoneAfter: explore.DefaultLoneAfter, Epoch: hunt.SessionEpoch(time.Now()), Symbols: symbols.NewCache(nil),
		Minimize: true, Verbose: testing.Verbose()}
	h.Hooks.Logf = func(format string, a ...any) { t.Logf("schedtest: "+format, a...) }
	h.Hooks.Saved = func(_ *explore.RunReport, file string, _ bool, err error) {
		if err == nil {
			if err := keepBinary(exe, kept); err != nil {
				t.Logf("schedtest: the test binary was not kept for schedfuzz replay: %v", err)
			}
		}
	}
	return &session{t: t, name: name, exe: exe, env: env, corpus: corpus, h: h}, nil
}

// RunPattern is the -test.run pattern that selects exactly the test
// named name (t.Name()): each level anchored, ^TestX$/^sub$.
func RunPattern(name string) string {
	parts := strings.Split(name, "/")
	for i, p := range parts {
		parts[i] = "^" + regexp.QuoteMeta(p) + "$"
	}
	return strings.Join(parts, "/")
}

// replaySeeds replays the corpus; it reports whether the test failed.
func (s *session) replaySeeds(ctx context.Context) (failed bool) {
	t := s.t
	paths, err := replay.Store{Dir: s.corpus}.Paths()
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("schedtest: %s: %v", s.corpus, err)
	}
	for _, p := range paths {
		sf, err := hunt.LoadSeed(p)
		if err != nil {
			t.Errorf("schedtest: %v", err)
			failed = true
			continue
		}
		res, err := hunt.Replay(ctx, sf, hunt.ReplayOptions{Timeout: runTimeout, Path: s.exe, Env: s.env, Changed: hunt.FollowPrefix})
		if ctx.Err() != nil {
			t.Fatalf("schedtest: interrupted while replaying %s", p)
		}
		if err != nil {
			t.Fatalf("schedtest: replay %s: %v", p, err)
		}
		for _, n := range res.Notes {
			t.Logf("schedtest: %s: note: %s", p, n)
		}
		switch {
		case res.Verdict == hunt.Reproduced, res.Run != nil && s.fails(res.Run):
			// A changed program that fails otherwise on the
			// recorded schedule still fails.
			how := "still fails (replayed: " + res.Run.Describe() + ")"
			if res.Verdict != hunt.Reproduced {
				how = fmt.Sprintf("now fails otherwise (%s; recorded: %s)", res.Run.Describe(), sf.Outcome)
			}
			if failed {
				t.Errorf("schedtest: seed %s %s", p, how) // one report is enough
			} else {
				t.Errorf("schedtest: seed %s %s:\n%s%s", p, how, s.report(res.Run, p), s.commands(p))
			}
			failed = true
		case res.Verdict == hunt.Fixed:
			if err := s.ranTest(res.Run); err != nil {
				t.Errorf("schedtest: replay %s: %v", p, err)
				failed = true
				continue
			}
			t.Logf("schedtest: seed %s: fixed: the test now passes on its schedule (recorded: %s)", p, sf.Outcome)
		default:
			t.Logf("schedtest: seed %s: diverged (the test changed: its schedule no longer applies): %s", p, res.Why)
		}
	}
	if len(paths) > 0 && !failed {
		t.Logf("schedtest: %d seeds in %s replayed: none fails", len(paths), s.corpus)
	}
	return failed
}

// fails reports whether a run fails the test.
func (s *session) fails(r *explore.Result) bool {
	c := s.h.Classify
	return c.Classify(r) == explore.Fail
}

// ranTest checks that a passing child ran the test: with -test.v it says
// "--- PASS: NAME (" (or SKIP). A child whose -test.run matched nothing
// says "testing: warning: no tests to run" and exits 0.
func (s *session) ranTest(r *explore.Result) error {
	for _, v := range []string{"PASS", "SKIP"} {
		if bytes.Contains(r.Stdout, []byte("--- "+v+": "+s.name+" (")) {
			return nil
		}
	}
	return fmt.Errorf("the child test binary exited 0 without running %s (-test.run %s); its output:\n%s", s.name, RunPattern(s.name), tail(r.Stdout, 2000))
}

// explore explores the test's schedules and reports the first failure.
func (s *session) explore(ctx context.Context) {
	t := s.t
	runs := runCount()
	if runs == 0 && *timeFlag == 0 {
		return
	}
	seed, err := s.sessionSeed()
	if err != nil {
		t.Fatalf("schedtest: -schedtest.seed: %v", err)
	}
	portfolio, _ := explore.ParsePortfolio("portfolio")
	var found *hunt.Found
	var stopErr error
	sess := &explore.Session{Target: s.h.Program.Target(), Seed: seed, Runs: runs, Time: *timeFlag,
		Parallel: min(runtime.NumCPU(), 2), Portfolio: portfolio,
		Template: s.h.Config(explore.Config{}), MemoryEvery: s.h.Points.MemoryEvery(), Classify: s.h.Classify,
		Report: func(rep *explore.RunReport) bool {
			if stopErr = hunt.RunError(rep); stopErr != nil {
				return true
			}
			switch rep.Verdict {
			case explore.Pass:
				stopErr = s.ranTest(rep.Result)
				return stopErr != nil
			case explore.Fail:
				found, stopErr = s.h.Failure(ctx, rep)
				return true
			}
			return false
		}}
	sum, err := sess.Run(ctx)
	switch {
	case found != nil: // interrupted or not: it is saved, and reported with what was found
		var text strings.Builder
		found.Text(&text)
		rep := found.Run
		t.Errorf("schedtest: %s fails in run %d (after %d runs; session seed %#x, run seed %#016x, strategy %s):\n%s%s",
			s.name, rep.Index, sum.Runs, seed, rep.Seed, rep.Strategy, text.String(), s.commands(found.File))
	case ctx.Err() != nil:
		t.Fatalf("schedtest: interrupted after %d runs", sum.Runs)
	case err != nil:
		t.Fatalf("schedtest: %v", err)
	case stopErr != nil:
		t.Fatalf("schedtest: %v", stopErr)
	default:
		t.Logf("schedtest: no failure in %d runs (session seed %#x, -points %s)", sum.Runs, seed, points)
	}
}

// runCount is how many runs to explore: -schedtest.runs, else the
// default (fewer with -short), else none with -schedtest.time alone (0:
// as many as the time allows).
func runCount() int {
	switch runs := *runsFlag; {
	case runs >= 0:
		return runs
	case *timeFlag > 0:
		return 0
	case testing.Short():
		return DefaultShortRuns
	}
	return DefaultRuns
}

// sessionSeed is -schedtest.seed, or a hash of the test's name.
func (s *session) sessionSeed() (uint64, error) {
	switch *seedFlag {
	case "":
		h := fnv.New64a()
		h.Write([]byte(s.name))
		return h.Sum64(), nil
	case "random":
		var b [8]byte
		crand.Read(b[:])
		return binary.LittleEndian.Uint64(b[:]), nil
	}
	return strconv.ParseUint(*seedFlag, 0, 64)
}

// report is a replayed failure's report.
func (s *session) report(r *explore.Result, file string) string {
	var b strings.Builder
	(&report.Failure{Target: s.name, Run: -1, Result: r, Known: true, Seed: file}).Text(&b)
	return b.String()
}

// commands says how to replay a seed file.
func (s *session) commands(file string) string {
	if file == "" {
		return "schedtest: the seed file was not saved"
	}
	race := ""
	if raceEnabled {
		race = "-race "
	}
	return fmt.Sprintf("schedtest: to replay: go test %s-run '%s' '"+LinkFlags+"' . (replays every seed in %s)\n"+
		"schedtest:        or: schedfuzz replay %s (in this directory, with the test binary kept at %s)",
		race, RunPattern(s.name), s.corpus, file, s.h.Program.Name)
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}
