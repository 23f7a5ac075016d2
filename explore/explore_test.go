package explore_test

import (
	"bytes"
	"context"
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
	"github.com/schedfuzz/schedfuzz/intercept"
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
		explore.Config{Seed: seed, Timeout: 20 * time.Second, CPU: 0, Replay: replay})
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
					t.Fatalf("run %d: %d decisions differ from the first run's %d", i, len(r.Decisions), len(first.Decisions))
				}
				if !bytes.Equal(r.Stdout, first.Stdout) || r.Outcome.VirtualTime != first.Outcome.VirtualTime {
					t.Fatalf("run %d: output or virtual time differ", i)
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
			// The signature names each blocked thread's point, read from
			// the report: it must keep understanding sched's format.
			if sig := explore.Signature(r); !regexp.MustCompile(`^deadlock @t\d+:futex(,t\d+:futex)+$`).MatchString(sig) {
				t.Errorf("deadlock signature %q does not name the blocked threads", sig)
			}
			t.Logf("deadlock at run %d:\n%s", i, r.Outcome.Report)
			return
		}
	}
	t.Fatal("ABBA deadlock not found in 1000 runs")
}

// TestVirtualTime: a program sleeping 10 s in total finishes in well under
// a second of wall time.
func TestVirtualTime(t *testing.T) {
	testenv.RequirePtrace(t)
	start := time.Now()
	r := run(t, "/bin/sh", 1, nil, "-c", "sleep 5; sleep 5")
	if r.Failed() {
		t.Fatalf("sleep failed: %s %s", r.Describe(), r.Stderr)
	}
	if r.Outcome.VirtualTime < 10*int64(time.Second) {
		t.Fatalf("virtual time %v, want >= 10s", time.Duration(r.Outcome.VirtualTime))
	}
	if wall := time.Since(start); wall > 2*time.Second {
		t.Fatalf("10 s of sleep took %v of wall time", wall)
	}
}

var _ = intercept.NoCPU

// TestHang: a run blocked for real in the kernel (open of a FIFO nobody
// will open for writing) ends as a hang at -timeout, leaving nothing
// behind.
func TestHang(t *testing.T) {
	testenv.RequirePtrace(t)
	fifo := filepath.Join(t.TempDir(), "fifo")
	start := time.Now()
	r, err := explore.Run(context.Background(), &explore.Target{Path: "/bin/sh",
		Args: []string{"sh", "-c", "mkfifo " + fifo + " && exec cat " + fifo}},
		explore.Config{Seed: 1, Timeout: time.Second, CPU: 0})
	if err != nil {
		t.Fatal(err)
	}
	if !r.Hang || !r.Failed() || r.Describe() != "hang" {
		t.Fatalf("blocked run: %s (hang=%v), want hang", r.Describe(), r.Hang)
	}
	if wall := time.Since(start); wall > 5*time.Second {
		t.Fatalf("a 1 s timeout took %v", wall)
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
		time.Sleep(200 * time.Millisecond)
		pw.WriteString("from outside\n")
		pw.Close()
	}()
	r, err := explore.Run(context.Background(), &explore.Target{Path: "/bin/cat", Args: []string{"cat"}},
		explore.Config{Seed: 1, Timeout: 10 * time.Second, CPU: 0, Stdin: pr})
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
