package realworld

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/schedfuzz/schedfuzz/explore"
	"github.com/schedfuzz/schedfuzz/intercept/sandbox"
	"github.com/schedfuzz/schedfuzz/internal/testenv"
	"github.com/schedfuzz/schedfuzz/replay"
	"github.com/schedfuzz/schedfuzz/sched"
)

// maxRacyRuns bounds the search for each racy program's bug (the default
// portfolio, so every strategy takes its turn). Each is found in a few
// runs when the scheduler models the program's waits; not finding one
// means the bug became unreachable.
const maxRacyRuns = 200

// racyReplays is how often a found failure is replayed from its seed file.
const racyReplays = 3

// racyCase is a buggy program of one of the suite's classes.
type racyCase struct {
	name string
	argv func(t testing.TB) []string
	want string         // how the bug ends (explore.Result.Describe)
	out  *regexp.Regexp // what it prints (stdout and stderr)
}

var racyCases = []racyCase{
	{name: "sh_pipe_race", want: "exit 1", out: regexp.MustCompile(`first line: background`),
		argv: func(t testing.TB) []string { return []string{tool(t, "sh"), src("sh", "pipe_race.sh")} }},
	{name: "c_sigchld_race", want: "exit 1", out: regexp.MustCompile(`reaped \d unknown child`),
		argv: func(t testing.TB) []string { return []string{cGuest(t, "sigchld_race")} }},
	{name: "c_timeout_race", want: "exit 1", out: regexp.MustCompile(`timed out waiting for the worker`),
		argv: func(t testing.TB) []string { return []string{cGuest(t, "timeout_race")} }},
	{name: "go_lost_update", want: "exit 1", out: regexp.MustCompile(`lost update: count=1`),
		argv: func(t testing.TB) []string { return []string{goGuest(t, "race")} }},
	{name: "python_check_then_act", want: "exit 1", out: regexp.MustCompile(`built 2 times`),
		argv: func(t testing.TB) []string { return []string{python(t), src("py", "check_then_act.py")} }},
	{name: "make_missing_dep", want: "exit 2", out: regexp.MustCompile(`config\.h: No such file`),
		argv: func(t testing.TB) []string {
			tools(t, "make", "grep", "mkdir", "mktemp", "rm")
			return shc(`o=$(mktemp -d) && make -s -j2 -C ` + src("make", "racy") + ` O="$o"; s=$?; rm -rf "$o"; exit $s`)(t)
		}},
}

// TestRacyFound: each racy program's bug is found, failing the documented
// way, within maxRacyRuns runs of the default portfolio; a run that fails
// any other way (a deadlock, a hang, a tool error) is an error of its own.
// The failing run goes through a seed file (Encode, Parse) and replays
// racyReplays times with the identical decisions, outcome and output.
func TestRacyFound(t *testing.T) {
	for _, c := range racyCases {
		t.Run(c.name, func(t *testing.T) {
			testenv.RequirePtrace(t)
			row := fmt.Sprintf("NOT FOUND in %d runs", maxRacyRuns)
			defer func() { found.add(c.name, row) }()
			argv := c.argv(t)
			pool := worldOf(t, argv)
			rep, wrong := huntBug(t, c, argv, pool)
			for _, w := range wrong {
				t.Errorf("failed another way than the bug: %s", w)
			}
			if rep == nil {
				t.Fatalf("bug not found in %d runs (want %s matching %q)", maxRacyRuns, c.want, c.out)
			}
			t.Logf("found at run %d (%s): %s, %q", rep.Index, rep.Strategy, rep.Result.Describe(),
				bytes.TrimSpace(rep.Result.Stdout))
			row = fmt.Sprintf("found at run %d (%s); its seed file failed", rep.Index, rep.Strategy)
			replays := replaySeed(t, argv, rep, pool)
			row = fmt.Sprintf("found at run %d (%s), replayed %d/%d", rep.Index, rep.Strategy, replays, racyReplays)
		})
	}
}

// worldOf gives a racy case's runs and replays a world of their own, as
// the CLI does (a fresh /tmp: make's mktemp names are seeded, and a
// concurrent run's file made a replay pick another), or nil where
// namespaces are unavailable (said in the log).
func worldOf(t *testing.T, argv []string) *sandbox.Pool {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	pool, err := sandbox.New(sandbox.Config{Dir: wd, Prog: argv[0], CPUs: guestCPUs})
	var ue *sandbox.UnavailableError
	if errors.As(err, &ue) {
		t.Logf("runs not hermetic: %v", err)
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// huntBug runs the default portfolio until the bug shows; it returns the
// first run that shows it (nil if none did) and how other runs failed.
func huntBug(t *testing.T, c racyCase, argv []string, pool *sandbox.Pool) (*explore.RunReport, []string) {
	seed := caseSeed(c.name)
	var hit *explore.RunReport
	var wrong []string
	tmpl := template()
	tmpl.Sandbox = pool
	sess := &explore.Session{Target: target(argv), Seed: seed, Runs: maxRacyRuns, Parallel: parallel,
		Template: tmpl, Report: func(rep *explore.RunReport) bool {
			r := rep.Result
			switch {
			case rep.Err != nil:
				wrong = append(wrong, fmt.Sprintf("run %d: tool error: %v", rep.Index, rep.Err))
				return true
			case r.Outcome.Kind != sched.Finished || r.Hang:
				wrong = append(wrong, fmt.Sprintf("run %d (%s): %s: %s\nrepro: schedfuzz -seed %#x -runs %d -p 1 -- %s",
					rep.Index, rep.Strategy, explore.Signature(r), firstLines(r.Outcome.Report, 4), seed, rep.Index+1, shellJoin(argv)))
				return len(wrong) >= 3
			case !r.Failed():
				return false
			}
			out := append(append([]byte(nil), r.Stdout...), r.Stderr...)
			if r.Describe() != c.want || !c.out.Match(out) {
				wrong = append(wrong, fmt.Sprintf("run %d (%s): %s, output %s", rep.Index, rep.Strategy, r.Describe(), quote(out)))
				return len(wrong) >= 3
			}
			if len(r.Outcome.Nondeterministic) > 0 {
				// Documented as possibly not replaying (a watchdog
				// preemption): look for one that will.
				t.Logf("run %d: %q; looking for a failure without such notes", rep.Index, r.Outcome.Nondeterministic)
				return false
			}
			hit = rep
			return true
		}}
	runSession(t, sess)
	return hit, wrong
}

// replaySeed saves the failing run as a seed file (with its -max-steps
// and spin sites, as the CLI writes it), reads it back and replays it
// racyReplays times: each replay must follow the trace to its
// end with the identical decisions, outcome, stdout and stderr. It
// returns the number of faithful replays (the test has failed if fewer).
func replaySeed(t *testing.T, argv []string, rep *explore.RunReport, pool *sandbox.Pool) int {
	t.Helper()
	r := rep.Result
	sum, err := replay.FileSHA256(argv[0])
	if err != nil {
		t.Fatal(err)
	}
	sf := &replay.SeedFile{Tool: "realworld test", Target: argv[0], SHA256: sum, Args: argv[1:],
		Env: replay.RecordEnv(os.Environ()), Seed: r.Seed, Run: rep.Index, Strategy: rep.Strategy.String(),
		CPUs: guestCPUs, MaxSteps: explore.DefaultMaxSteps, LoneAfter: explore.DefaultLoneAfter, Points: replay.PointSet{Name: "sync"}, Spins: r.Spins,
		Outcome: r.Describe(), Signature: explore.Signature(r), Digest: replay.Digest(r.Decisions), Decisions: r.Decisions}
	data, err := sf.Encode()
	if err != nil {
		t.Fatalf("encode the seed file of run %d (%s): %v", rep.Index, rep.Strategy, err)
	}
	back, err := replay.Parse(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("parse the seed file: %v", err)
	}
	spec, err := explore.ParseSpec(back.Strategy)
	if err != nil {
		t.Fatalf("seed file strategy: %v", err)
	}
	start := time.Now()
	for i := range racyReplays {
		cfg := template()
		cfg.Sandbox = pool
		cfg.Seed, cfg.Strategy, cfg.Replay, cfg.MaxSteps, cfg.Spins = back.Seed, spec, back.Decisions, back.MaxSteps, back.Spins
		cfg.LoneAfter = back.LoneAfter
		got, err := explore.Run(context.Background(), target(argv), cfg)
		if err != nil {
			t.Fatalf("replay %d: %v", i, err)
		}
		switch {
		case got.Outcome.Kind == sched.Diverged:
			t.Errorf("replay %d of %d decisions diverged: %s", i, len(r.Decisions), firstLines(got.Outcome.Report, 6))
		case !reflect.DeepEqual(got.Decisions, r.Decisions):
			t.Errorf("replay %d: %d decisions differ from the recorded %d", i, len(got.Decisions), len(r.Decisions))
		case got.Describe() != r.Describe() || !bytes.Equal(got.Stdout, r.Stdout) || !bytes.Equal(got.Stderr, r.Stderr):
			t.Errorf("replay %d: %s, stdout %s, stderr %s; recorded %s, %s, %s", i, got.Describe(), quote(got.Stdout),
				quote(got.Stderr), r.Describe(), quote(r.Stdout), quote(r.Stderr))
		default:
			continue
		}
		return i
	}
	t.Logf("replayed %d/%d (%d decisions, %v)", racyReplays, racyReplays, len(r.Decisions), time.Since(start).Round(time.Millisecond))
	return racyReplays
}

// foundTable collects the racy cases' results for the summary.
type foundTable struct {
	mu   sync.Mutex
	rows []string
}

var found = &foundTable{}

func (f *foundTable) add(name, what string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rows = append(f.rows, fmt.Sprintf("| %s | %s |", name, what))
}

func (f *foundTable) print(w *os.File) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.rows) == 0 {
		return
	}
	fmt.Fprintf(w, "\nracy variants (default portfolio, at most %d runs)\n\n| case | result |\n|---|---|\n%s\n",
		maxRacyRuns, strings.Join(f.rows, "\n"))
}
