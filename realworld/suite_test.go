package realworld

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"hash/fnv"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/schedfuzz/schedfuzz/explore"
	"github.com/schedfuzz/schedfuzz/hunt"
	"github.com/schedfuzz/schedfuzz/intercept/symbols"
	"github.com/schedfuzz/schedfuzz/internal/testenv"
	"github.com/schedfuzz/schedfuzz/sched"
	"github.com/schedfuzz/schedfuzz/sched/points"
)

// Settings. The defaults are what `go test ./...` runs; the environment
// variables are for diagnosis and measurement.
var (
	// runTimeout is each scheduled run's wall-clock limit (the CLI's
	// default): a run past it is a hang. SCHEDFUZZ_REALWORLD_TIMEOUT.
	runTimeout = envDuration("SCHEDFUZZ_REALWORLD_TIMEOUT", 10*time.Second)
	// parallel is how many runs a session makes at once, each pinned to
	// its own CPU. SCHEDFUZZ_REALWORLD_P.
	parallel = envInt("SCHEDFUZZ_REALWORLD_P", min(2, runtime.NumCPU()))
	// allRuns: with SCHEDFUZZ_REALWORLD_ALL=1 a session makes all its runs
	// and counts the failures, instead of stopping at the first (for the
	// pass/fail table; a hanging case then costs a timeout per run).
	allRuns = os.Getenv("SCHEDFUZZ_REALWORLD_ALL") == "1"
)

// strategies are the four the issue names, each run separately.
var strategies = []explore.Spec{{Name: "random"}, {Name: "pct", Depth: 3}, {Name: "pos"}, {Name: "chaos"}}

// guestCPUs is the CPU count the guest sees (the CLI's default).
const guestCPUs = 4

// symbolCache parses each ELF file once for the whole suite.
var symbolCache = symbols.NewCache(nil)

func TestMain(m *testing.M) {
	flag.Parse()
	// SCHEDFUZZ_REALWORLD_WORKDIR keeps the built guests (so that the
	// repro command lines of failures work after the test); by default
	// they go to a temporary directory removed at the end.
	dir := os.Getenv("SCHEDFUZZ_REALWORLD_WORKDIR")
	keep := dir != ""
	if keep {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			fmt.Fprintln(os.Stderr, "realworld:", err)
			os.Exit(2)
		}
		dir, _ = filepath.Abs(dir)
	} else {
		var err error
		if dir, err = os.MkdirTemp("", "schedfuzz-realworld-"); err != nil {
			fmt.Fprintln(os.Stderr, "realworld:", err)
			os.Exit(2)
		}
	}
	workDir = dir
	code := m.Run()
	if testing.Verbose() || os.Getenv("SCHEDFUZZ_REALWORLD_TABLE") == "1" {
		results.print(os.Stdout)
		found.print(os.Stdout)
	}
	if !keep {
		os.RemoveAll(dir)
	}
	os.Exit(code)
}

// native is how a case's program behaves without schedfuzz.
type native struct {
	status         unix.WaitStatus
	stdout, stderr []byte
	wall           time.Duration // mean of the native runs
}

// nativeRuns is how often a case runs natively: every run must agree (a
// case must be deterministic natively), and their mean wall time is the
// baseline of the slowdown.
const nativeRuns = 2

// runNative runs argv without schedfuzz, nativeRuns times.
func runNative(t *testing.T, argv []string) *native {
	t.Helper()
	var first *native
	var total time.Duration
	for i := range nativeRuns {
		n, err := runOnce(argv)
		if err != nil {
			t.Fatalf("native run of %q: %v", argv, err)
		}
		total += n.wall
		if i == 0 {
			first = n
			continue
		}
		if n.status != first.status || !bytes.Equal(n.stdout, first.stdout) || !bytes.Equal(n.stderr, first.stderr) {
			t.Fatalf("%q is not deterministic natively: %s %q %q, then %s %q %q", argv,
				describeStatus(first.status), first.stdout, first.stderr, describeStatus(n.status), n.stdout, n.stderr)
		}
	}
	first.wall = total / nativeRuns
	return first
}

func runOnce(argv []string) (*native, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		return nil, err
	}
	if ctx.Err() != nil {
		return nil, fmt.Errorf("did not finish in 2 minutes natively")
	}
	ws, _ := cmd.ProcessState.Sys().(syscall.WaitStatus)
	return &native{status: unix.WaitStatus(ws), stdout: out.Bytes(), stderr: errb.Bytes(), wall: wall}, nil
}

func describeStatus(ws unix.WaitStatus) string {
	switch {
	case ws.Exited():
		return fmt.Sprintf("exit %d", ws.ExitStatus())
	case ws.Signaled():
		return "signal " + unix.SignalName(ws.Signal())
	}
	return fmt.Sprintf("status %#x", uint32(ws))
}

// target is argv as a schedfuzz target, with the test's environment.
func target(argv []string) *explore.Target {
	return &explore.Target{Path: argv[0], Args: argv, Env: os.Environ()}
}

// epoch starts the guests' realtime clock as the CLI does: after the
// times of the files they see and make (make compares them).
var epoch = hunt.SessionEpoch(time.Now())

// template is the per-run configuration of the CLI's defaults: sync
// points, 4 CPUs, -max-steps, -lone-after, the run timeout.
func template() explore.Config {
	return explore.Config{Timeout: runTimeout, CPUs: guestCPUs, MaxSteps: explore.DefaultMaxSteps, LoneAfter: explore.DefaultLoneAfter, Epoch: epoch,
		Points: points.Sync, Plan: points.NewPlan(points.Sync, nil), Symbols: symbolCache}
}

// caseSeed is the fixed session seed of a case and strategy: the suite
// makes the same runs every time.
func caseSeed(name string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(name))
	return h.Sum64()
}

// mismatch says how a scheduled run differs from the native one ("" if
// it does not): a tool error, a deadlock, livelock or hang, another exit
// status, other output.
func mismatch(rep *explore.RunReport, want *native, cmpStderr bool) string {
	if rep.Err != nil {
		return "tool error: " + rep.Err.Error()
	}
	r := rep.Result
	switch {
	case r.Hang:
		return "hang (" + explore.Signature(r) + ")" + progress(r.Stdout, want.stdout)
	case r.Outcome.Kind != sched.Finished:
		return explore.Signature(r) + progress(r.Stdout, want.stdout) + ": " + firstLines(r.Outcome.Report, 6)
	case r.Status != want.status:
		return fmt.Sprintf("%s, want %s; stderr %s", r.Describe(), describeStatus(want.status), quote(r.Stderr))
	case !bytes.Equal(r.Stdout, want.stdout):
		return fmt.Sprintf("stdout %s, want %s; stderr %s", quote(r.Stdout), quote(want.stdout), quote(r.Stderr))
	case cmpStderr && !bytes.Equal(r.Stderr, want.stderr):
		return fmt.Sprintf("stderr %s, want %s", quote(r.Stderr), quote(want.stderr))
	}
	return ""
}

// progress says how far a run that did not finish got: the last line it
// printed (the guests print a line per step), out of how many.
func progress(got, want []byte) string {
	n := bytes.Count(got, []byte("\n"))
	last := ""
	if lines := bytes.Split(bytes.TrimSuffix(got, []byte("\n")), []byte("\n")); len(got) > 0 {
		last = ", last: " + quote(lines[len(lines)-1])
	}
	return fmt.Sprintf(" after %d of %d output lines%s", n, bytes.Count(want, []byte("\n")), last)
}

func quote(b []byte) string {
	const max = 400
	if len(b) > max {
		return strconv.Quote(string(b[:max])) + "..."
	}
	return strconv.Quote(string(b))
}

func firstLines(s string, n int) string {
	lines := strings.SplitN(s, "\n", n+1)
	if len(lines) > n {
		lines = append(lines[:n], "...")
	}
	return strings.Join(lines, "\n")
}

// sessionResult is what one case × strategy session did.
type sessionResult struct {
	runs, fails int
	first       string        // the first mismatch, with its run
	wall        time.Duration // the session's
	runWall     time.Duration // sum of the runs'
	native      time.Duration
	stopped     bool // stopped at the first failure
}

func (s *sessionResult) cell() string {
	if s.fails == 0 {
		return fmt.Sprintf("pass %d/%d", s.runs, s.runs)
	}
	if s.stopped {
		return "FAIL (1st at run " + strconv.Itoa(s.runs-1) + ")"
	}
	return fmt.Sprintf("FAIL %d/%d", s.fails, s.runs)
}

// runsPerSec and slowdown are the session's speed: runs per second (with
// the session's parallelism) and the mean run's wall time over the mean
// native run's.
func (s *sessionResult) runsPerSec() float64 { return float64(s.runs) / s.wall.Seconds() }
func (s *sessionResult) slowdown() float64 {
	return float64(s.runWall) / float64(s.runs) / float64(s.native)
}

// checkSchedules runs argv runs times under each strategy and checks that
// every run ends as the native run did: same exit status, same stdout
// (and stderr unless ignored), no deadlock, livelock, hang or tool error.
func checkSchedules(t *testing.T, name string, argv []string, runs int, cmpStderr bool) {
	testenv.RequirePtrace(t)
	want := runNative(t, argv)
	t.Logf("native: %s, %v", describeStatus(want.status), want.wall.Round(time.Millisecond))
	for _, sp := range strategies {
		t.Run(sp.String(), func(t *testing.T) {
			res := schedule(t, name, argv, sp, runs, want, cmpStderr)
			results.add(name, sp.String(), res)
			t.Logf("%d runs in %v: %.2f runs/s, %.1fx native", res.runs, res.wall.Round(time.Millisecond),
				res.runsPerSec(), res.slowdown())
			if res.fails > 0 {
				t.Errorf("%d of %d runs differ from the native run; first: %s", res.fails, res.runs, res.first)
			}
		})
	}
}

// schedule runs one session of a case under one strategy.
func schedule(t *testing.T, name string, argv []string, sp explore.Spec, runs int, want *native, cmpStderr bool) *sessionResult {
	seed := caseSeed(name + "/" + sp.String())
	res := &sessionResult{native: want.wall}
	sess := &explore.Session{Target: target(argv), Seed: seed, Runs: runs, Parallel: parallel,
		Portfolio: []explore.Spec{sp}, Template: template(),
		Report: func(rep *explore.RunReport) bool {
			res.runs++
			if rep.Result != nil {
				res.runWall += rep.Result.Wall
			}
			m := mismatch(rep, want, cmpStderr)
			if m == "" {
				return false
			}
			res.fails++
			if res.first == "" {
				res.first = fmt.Sprintf("run %d: %s\nrepro: schedfuzz -strategy %s -seed %#x -runs %d -p 1 -- %s",
					rep.Index, m, sp, seed, rep.Index+1, shellJoin(argv))
			}
			res.stopped = !allRuns
			return !allRuns
		}}
	start := time.Now()
	runSession(t, sess)
	res.wall = time.Since(start)
	return res
}

// sessionGrace is how much longer than its runs' timeouts allow a session
// may take before the suite reports it stuck.
const sessionGrace = 2 * time.Minute

// runSession runs sess and checks that no guest process outlives it. A
// session that does not end within its runs' timeouts plus sessionGrace
// is stuck (the tracer waits for a guest that will never report): the
// test fails, naming the guests still traced, and kills them so that the
// suite can go on.
func runSession(t *testing.T, sess *explore.Session) {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		_, err := sess.Run(context.Background())
		done <- err
	}()
	limit := time.Duration((sess.Runs+sess.Parallel-1)/max(1, sess.Parallel)+1)*runTimeout + sessionGrace
	var err error
	select {
	case err = <-done:
	case <-time.After(limit):
		stuck := tracedByUs()
		t.Errorf("the session did not end in %v (its runs' timeouts plus %v); guests still traced: %q; killing them",
			limit, sessionGrace, stuck)
		killAll(stuck)
		select {
		case err = <-done:
		case <-time.After(time.Minute):
			t.Fatalf("the session did not end a minute after its guests were killed")
		}
	}
	if err != nil {
		t.Fatalf("session: %v", err)
	}
	if left := leftovers(); len(left) > 0 {
		t.Errorf("guest processes outlived the session (killed now): %q", left)
	}
}

func shellJoin(argv []string) string {
	q := make([]string, len(argv))
	for i, a := range argv {
		if a == "" || strings.ContainsAny(a, " \t\n'\"\\$&|;<>(){}*?![]#~`") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		q[i] = a
	}
	return strings.Join(q, " ")
}

// table collects the sessions' results for the summary TestMain prints.
type table struct {
	mu    sync.Mutex
	cases []string
	cells map[string]map[string]*sessionResult
}

var results = &table{cells: map[string]map[string]*sessionResult{}}

func (tb *table) add(name, strategy string, r *sessionResult) {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	if tb.cells[name] == nil {
		tb.cells[name] = map[string]*sessionResult{}
		tb.cases = append(tb.cases, name)
	}
	tb.cells[name][strategy] = r
}

// print writes the pass/fail table and the speed table (markdown).
func (tb *table) print(w *os.File) {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	if len(tb.cases) == 0 {
		return
	}
	var names []string
	for _, sp := range strategies {
		names = append(names, sp.String())
	}
	fmt.Fprintf(w, "\nreal programs under schedfuzz (-p %d, timeout %v, stop at first failure: %v)\n\n", parallel, runTimeout, !allRuns)
	fmt.Fprintf(w, "| case | native | %s |\n|---|---|%s\n", strings.Join(names, " | "), strings.Repeat("---|", len(names)))
	for _, c := range tb.cases {
		row := []string{c, ""}
		for _, n := range names {
			r := tb.cells[c][n]
			if r == nil {
				row = append(row, "")
				continue
			}
			row[1] = r.native.Round(time.Millisecond).String()
			row = append(row, r.cell())
		}
		fmt.Fprintf(w, "| %s |\n", strings.Join(row, " | "))
	}
	fmt.Fprintf(w, "\nruns/s and slowdown against native (passing sessions only)\n\n")
	fmt.Fprintf(w, "| case | %s |\n|---|%s\n", strings.Join(names, " | "), strings.Repeat("---|", len(names)))
	for _, c := range tb.cases {
		row := []string{c}
		for _, n := range names {
			r := tb.cells[c][n]
			if r == nil || r.fails > 0 {
				row = append(row, "")
				continue
			}
			row = append(row, fmt.Sprintf("%.1f/s, %.1fx", r.runsPerSec(), r.slowdown()))
		}
		fmt.Fprintf(w, "| %s |\n", strings.Join(row, " | "))
	}
	var failed []string
	for _, c := range tb.cases {
		for _, n := range names {
			if r := tb.cells[c][n]; r != nil && r.fails > 0 {
				failed = append(failed, fmt.Sprintf("%s/%s: %s", c, n, firstLines(r.first, 3)))
			}
		}
	}
	slices.Sort(failed)
	if len(failed) > 0 {
		fmt.Fprintf(w, "\nfirst failures\n\n%s\n", strings.Join(failed, "\n"))
	}
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

func envDuration(name string, def time.Duration) time.Duration {
	if v, err := time.ParseDuration(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}
