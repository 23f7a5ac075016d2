package explore_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/schedfuzz/schedfuzz/explore"
	"github.com/schedfuzz/schedfuzz/internal/testenv"
	"github.com/schedfuzz/schedfuzz/internal/testprog"
	"github.com/schedfuzz/schedfuzz/sched"
)

func buildExample(t *testing.T, name string) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	src := filepath.Join(filepath.Dir(file), "..", "corpus", "examples", name+".c")
	out := filepath.Join(t.TempDir(), name)
	if b, err := exec.Command("gcc", "-O1", "-pthread", "-o", out, src).CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v\n%s", err, b)
	}
	return out
}

func run(t *testing.T, path string, seed uint64, replay []sched.Decision, args ...string) *explore.Result {
	t.Helper()
	r, err := explore.Run(context.Background(), &explore.Target{Path: path, Args: append([]string{path}, args...)},
		explore.Config{Seed: seed, Timeout: 20 * time.Second, Replay: replay})
	if err != nil {
		t.Fatalf("run %s seed %d: %v", path, seed, err)
	}
	return r
}

// TestFindAndReplay: schedfuzz finds the lost update within 1000 runs and
// the failing schedule replays 10 times out of 10 with the same decisions
// and output.
func TestFindAndReplay(t *testing.T) {
	testenv.RequirePtrace(t)
	path := buildExample(t, "lost_update")
	var found *explore.Result
	for i := 0; i < 1000 && found == nil; i++ {
		if r := run(t, path, uint64(i), nil); r.Failed() {
			found = r
			t.Logf("found %s at run %d (%d decisions)", r.Describe(), i, len(r.Decisions))
		}
	}
	if found == nil {
		t.Fatal("lost update not found in 1000 runs")
	}
	for i := 0; i < 10; i++ {
		r := run(t, path, found.Seed, found.Decisions)
		if r.Outcome.Kind == sched.Diverged {
			t.Fatalf("replay %d diverged: %s", i, r.Outcome.Report)
		}
		if !r.Failed() || r.Describe() != found.Describe() {
			t.Fatalf("replay %d: %s, want %s", i, r.Describe(), found.Describe())
		}
		if !reflect.DeepEqual(r.Decisions, found.Decisions) || !bytes.Equal(r.Stdout, found.Stdout) {
			t.Fatalf("replay %d: different decisions or output:\n%q\n%q", i, r.Stdout, found.Stdout)
		}
	}
}

// TestDeterminism: the same seed gives the same decisions and output, 20
// times in a row, for C threads with pipes and for a Go program.
func TestDeterminism(t *testing.T) {
	testenv.RequirePtrace(t)
	for _, name := range []string{"threads_pipe", "go/goroutines", "fork_exec"} {
		t.Run(filepath.Base(name), func(t *testing.T) {
			path := testprog.Build(t, name)
			first := run(t, path, 7, nil)
			if first.Failed() {
				t.Fatalf("%s failed under the scheduler: %s\n%s\n%s", name, first.Describe(), first.Stderr, first.Outcome.Report)
			}
			if len(first.Decisions) == 0 {
				t.Fatalf("%s: no decisions made", name)
			}
			for i := 0; i < 20; i++ {
				r := run(t, path, 7, nil)
				if !reflect.DeepEqual(r.Decisions, first.Decisions) {
					t.Fatalf("run %d: %d decisions differ from the first run's %d (notes %q, first %q)\n%s", i, len(r.Decisions), len(first.Decisions),
						r.Outcome.Nondeterministic, first.Outcome.Nondeterministic, firstDifference(first.Decisions, r.Decisions))
				}
				if !bytes.Equal(r.Stdout, first.Stdout) || r.Outcome.VirtualTime != first.Outcome.VirtualTime {
					t.Fatalf("run %d: output or virtual time differ (notes %q)", i, r.Outcome.Nondeterministic)
				}
			}
		})
	}
}

// TestDeadlock: an ABBA deadlock ends as a deadlock with a report, not a hang.
func TestDeadlock(t *testing.T) {
	testenv.RequirePtrace(t)
	path := buildExample(t, "abba")
	for i := 0; i < 1000; i++ {
		r := run(t, path, uint64(i), nil)
		if r.Hang {
			t.Fatalf("run %d hung instead of reporting a deadlock", i)
		}
		if r.Outcome.Kind == sched.Deadlock {
			if !bytes.Contains([]byte(r.Outcome.Report), []byte("futex")) {
				t.Fatalf("deadlock report does not say what threads wait on:\n%s", r.Outcome.Report)
			}
			// The signature names each blocked thread's point.
			if sig := explore.Signature(r); !regexp.MustCompile(`^deadlock @ futex(>futex)+$`).MatchString(sig) {
				t.Errorf("deadlock signature %q does not name the blocked threads", sig)
			}
			t.Logf("deadlock at run %d:\n%s", i, r.Outcome.Report)
			return
		}
	}
	t.Fatal("ABBA deadlock not found in 1000 runs")
}

// TestVirtualTime: a program sleeping 10 s in total sleeps in virtual
// time: the run's own time (its CPU time, real blocking and virtual time,
// never the time it waited for a CPU) is the 10 s of virtual time and
// little more.
func TestVirtualTime(t *testing.T) {
	testenv.RequirePtrace(t)
	r := run(t, "/bin/sh", 1, nil, "-c", "sleep 5; sleep 5")
	if r.Failed() {
		t.Fatalf("sleep failed: %s %s", r.Describe(), r.Stderr)
	}
	if r.Outcome.VirtualTime < 10*int64(time.Second) {
		t.Fatalf("virtual time %v, want >= 10s", time.Duration(r.Outcome.VirtualTime))
	}
	// A sleep done for real would be charged as real blocking too.
	if real := r.Outcome.Charged - time.Duration(r.Outcome.VirtualTime); real > 5*time.Second {
		t.Fatalf("10 s of sleep charged %v beyond the virtual time", real)
	}
}

// TestHang: a run blocked for real in the kernel (open of a FIFO nobody
// will open for writing) ends as a hang at -timeout, leaving nothing
// behind.
func TestHang(t *testing.T) {
	testenv.RequirePtrace(t)
	fifo := filepath.Join(t.TempDir(), "fifo")
	r, err := explore.Run(context.Background(), &explore.Target{Path: "/bin/sh",
		Args: []string{"sh", "-c", "mkfifo " + fifo + " && exec cat " + fifo}},
		explore.Config{Seed: 1, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if !r.Hang || !r.Failed() || r.Describe() != "hang" {
		t.Fatalf("blocked run: %s (hang=%v), want hang", r.Describe(), r.Hang)
	}
	// The hang came at the timeout, by the run's own time (its blocking
	// counts), not earlier; a timeout that never fires hangs the test.
	if r.Outcome.Charged < time.Second {
		t.Fatalf("a hang at a 1 s timeout after %v of the run's time", r.Outcome.Charged)
	}
}

// TestExternalInput: a guest reading input that only the outside world
// provides waits for it for real and is marked as depending on it.
func TestExternalInput(t *testing.T) {
	testenv.RequirePtrace(t)
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	go func() {
		// Write once the tracer waits for real (the guest has nothing
		// else to do), however long the guest takes to get there.
		waitForExternalWait(10 * time.Second)
		pw.WriteString("from outside\n")
		pw.Close()
	}()
	r, err := explore.Run(context.Background(), &explore.Target{Path: "/bin/cat", Args: []string{"cat"}},
		explore.Config{Seed: 1, Timeout: 10 * time.Second, Stdin: pr})
	if err != nil {
		t.Fatal(err)
	}
	if r.Failed() || string(r.Stdout) != "from outside\n" {
		t.Fatalf("cat of external input: %s, stdout %q\n%s", r.Describe(), r.Stdout, r.Outcome.Report)
	}
	marked := false
	for _, n := range r.Outcome.Nondeterministic {
		marked = marked || strings.Contains(n, "external input")
	}
	if !marked {
		t.Fatalf("run not marked as depending on external input: %v", r.Outcome.Nondeterministic)
	}
}

// waitForExternalWait returns once a thread of this process is in the
// scheduler's real wait for external input: ppoll(fds, 1, ...) (what
// unix.Poll makes), seen in /proc/self/task/*/syscall; Go's own poller
// uses epoll.
func waitForExternalWait(limit time.Duration) {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		tasks, _ := filepath.Glob("/proc/self/task/*/syscall")
		for _, f := range tasks {
			b, _ := os.ReadFile(f)
			if fs := strings.Fields(string(b)); len(fs) > 2 && fs[0] == "271" && fs[2] == "0x1" {
				return
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func buildTestdata(t *testing.T, name string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), name)
	if b, err := exec.Command("gcc", "-O1", "-pthread", "-o", out, filepath.Join("testdata", name+".c")).CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v\n%s", err, b)
	}
	return out
}

func runWith(t *testing.T, path string, cfg explore.Config) *explore.Result {
	t.Helper()
	if cfg.Timeout == 0 {
		cfg.Timeout = 20 * time.Second
	}
	r, err := explore.Run(context.Background(), &explore.Target{Path: path, Args: []string{path}}, cfg)
	if err != nil {
		t.Fatalf("run %s seed %d: %v", path, cfg.Seed, err)
	}
	return r
}

// TestStrategiesFindAndReplay: every strategy of the default portfolio
// finds the lost update, and its failing schedule replays with identical
// decisions and output.
func TestStrategiesFindAndReplay(t *testing.T) {
	testenv.RequirePtrace(t)
	path := buildExample(t, "lost_update")
	for _, sp := range explore.DefaultPortfolio() {
		t.Run(sp.String(), func(t *testing.T) {
			var found *explore.Result
			for i := 0; i < 500 && found == nil; i++ {
				if r := runWith(t, path, explore.Config{Seed: uint64(i), Strategy: sp, Hint: explore.Hint{Steps: 30}}); r.Failed() {
					found = r
					t.Logf("found %s at run %d (%d decisions)", r.Describe(), i, len(r.Decisions))
				}
			}
			if found == nil {
				t.Fatalf("%s: lost update not found in 500 runs", sp)
			}
			for i := 0; i < 3; i++ {
				r := runWith(t, path, explore.Config{Seed: found.Seed, Strategy: sp, Replay: found.Decisions})
				if r.Outcome.Kind == sched.Diverged {
					t.Fatalf("replay %d diverged: %s", i, r.Outcome.Report)
				}
				if r.Describe() != found.Describe() || !reflect.DeepEqual(r.Decisions, found.Decisions) || !bytes.Equal(r.Stdout, found.Stdout) {
					t.Fatalf("replay %d: %s, want %s (or different decisions/output)", i, r.Describe(), found.Describe())
				}
			}
		})
	}
}

// TestFaults: a program that assumes whole-record pipe transfers never
// fails without syscall-result fuzzing and fails with it; the failing run
// replays, fault decisions included.
func TestFaults(t *testing.T) {
	testenv.RequirePtrace(t)
	path := buildTestdata(t, "short_io")
	for i := 0; i < 30; i++ {
		if r := runWith(t, path, explore.Config{Seed: uint64(i)}); r.Failed() || string(r.Stdout) != "ok\n" {
			t.Fatalf("seed %d without faults: %s %q", i, r.Describe(), r.Stdout)
		}
	}
	var found *explore.Result
	for i := 0; i < 200 && found == nil; i++ {
		if r := runWith(t, path, explore.Config{Seed: uint64(i), Faults: true}); r.Failed() {
			found = r
		}
	}
	if found == nil {
		t.Fatal("no failure in 200 runs with -faults")
	}
	faults := 0
	for _, d := range found.Decisions {
		if d.Kind == sched.KindFault && d.Choice != sched.FaultNone {
			faults++
		}
	}
	if faults == 0 {
		t.Fatalf("failing run %s has no injected fault in its trace", found.Describe())
	}
	r := runWith(t, path, explore.Config{Seed: found.Seed, Faults: true, Replay: found.Decisions})
	if r.Describe() != found.Describe() || !reflect.DeepEqual(r.Decisions, found.Decisions) {
		t.Fatalf("replay: %s (%s), want %s", r.Describe(), r.Outcome.Report, found.Describe())
	}
}

// TestMaxSteps: a livelock ends as one at -max-steps, and is a failure.
func TestMaxSteps(t *testing.T) {
	testenv.RequirePtrace(t)
	path := buildTestdata(t, "spin_yield")
	r := runWith(t, path, explore.Config{Seed: 1, MaxSteps: 5000})
	if r.Outcome.Kind != sched.Livelock || !r.Failed() || !strings.Contains(r.Outcome.Report, "5000") {
		t.Fatalf("got %s (%s), want a livelock at 5000 steps", r.Describe(), r.Outcome.Report)
	}
}

// firstDifference shows where two decision traces part.
func firstDifference(a, b []sched.Decision) string {
	for i := 0; i < len(a) || i < len(b); i++ {
		if i >= len(a) || i >= len(b) || !reflect.DeepEqual(a[i], b[i]) {
			var sb strings.Builder
			for j := max(0, i-3); j < i+3; j++ {
				var x, y any = "-", "-"
				if j < len(a) {
					x = a[j]
				}
				if j < len(b) {
					y = b[j]
				}
				fmt.Fprintf(&sb, "  %d: %v | %v\n", j, x, y)
			}
			return sb.String()
		}
	}
	return "  (same)"
}

// TestThreadInfo: a run's outcome says, for every thread, who created it
// and at which point, its last points and who ended the process.
func TestThreadInfo(t *testing.T) {
	testenv.RequirePtrace(t)
	path := buildExample(t, "lost_update")
	r := run(t, path, 1, nil)
	ts := r.Outcome.Threads
	if len(ts) != 3 {
		t.Fatalf("%d threads, want 3: %+v", len(ts), ts)
	}
	if ts[0].Parent != -1 || ts[0].Born != "" || r.Outcome.Ender != 0 {
		t.Fatalf("main thread: %+v, ender %d", ts[0], r.Outcome.Ender)
	}
	for _, w := range ts[1:] {
		if w.Parent != 0 || !strings.HasPrefix(w.Born, "t0:clone") || !w.Exited {
			t.Fatalf("worker: %+v", w)
		}
		writes := 0
		for _, p := range w.Last {
			if p == "write" {
				writes++
			}
		}
		if len(w.Last) != 8 || w.Points < 8 || writes != 3 || w.Last[7] != "exit" {
			t.Fatalf("worker %d: last points %v (%d points), want the last 8 with 3 writes, ending in exit", w.Vtid, w.Last, w.Points)
		}
	}
	if l := ts[0].Last; len(l) < 2 || l[len(l)-2] != "exit_group" || l[len(l)-1] != "exit" {
		t.Fatalf("main's last points %v, want ... exit_group exit", l)
	}
}
