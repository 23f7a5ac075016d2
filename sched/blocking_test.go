package sched_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/schedfuzz/schedfuzz/explore"
	"github.com/schedfuzz/schedfuzz/internal/testenv"
)

// strategiesUnderTest are the strategies every blocking test runs under.
var strategiesUnderTest = []string{"random", "pct:3", "pos", "chaos"}

// runsPerStrategy is how many seeds each blocking test runs per strategy.
const runsPerStrategy = 20

// nativeStdout runs argv without the scheduler and returns its stdout.
//
// A guest that checks times natively (polls.c) prints WRONG where the
// kernel's answer missed its window, which happens on a loaded machine
// (a 0.1 s sleep that took a second): such a run is made again, up to
// five times in all.
func nativeStdout(t *testing.T, argv ...string) string {
	t.Helper()
	var out []byte
	for range 5 {
		var err error
		out, err = exec.Command(argv[0], argv[1:]...).Output()
		if err != nil {
			t.Fatalf("native %v: %v\n%s", argv, err, out)
		}
		if !bytes.Contains(out, []byte("WRONG")) {
			break
		}
		t.Logf("native %v missed a time window (the machine is loaded), again:\n%s", argv, out)
	}
	return string(out)
}

// everySchedule runs argv under each strategy for runsPerStrategy seeds,
// two runs at a time, and fails on any run that does not
// exit 0 with stdout want. check, if set, looks at each result too.
func everySchedule(t *testing.T, want string, check func(*explore.Result) error, argv ...string) {
	t.Helper()
	tgt := &explore.Target{Path: argv[0], Args: argv}
	type job struct {
		sp   explore.Spec
		seed uint64
	}
	jobs := make(chan job)
	var mu sync.Mutex
	var failures []string
	var steps, decisions int
	var wg sync.WaitGroup
	start := time.Now()
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				r, err := explore.Run(context.Background(), tgt, explore.Config{Seed: j.seed, Strategy: j.sp,
					Timeout: 60 * time.Second, Hint: explore.Hint{Steps: 200}})
				var msg string
				if err == nil {
					mu.Lock()
					steps += r.Outcome.Steps
					decisions += len(r.Decisions)
					mu.Unlock()
				}
				switch {
				case err != nil:
					msg = err.Error()
				case r.Failed() || string(r.Stdout) != want:
					msg = fmt.Sprintf("%s, stdout:\n%s\nstderr:\n%s\n%s", r.Describe(), r.Stdout, r.Stderr, r.Outcome.Report)
				case check != nil:
					if err := check(r); err != nil {
						msg = err.Error()
					}
				}
				if msg != "" {
					mu.Lock()
					failures = append(failures, fmt.Sprintf("%s seed %d: %s", j.sp, j.seed, msg))
					mu.Unlock()
				}
			}
		}()
	}
	names := strategiesUnderTest
	if env := os.Getenv("SCHEDFUZZ_TEST_STRATEGIES"); env != "" {
		names = strings.Split(env, ",") // diagnosis: one strategy at a time
	}
	for _, name := range names {
		sp, err := explore.ParseSpec(name)
		if err != nil {
			t.Fatal(err)
		}
		for seed := uint64(1); seed <= runsPerStrategy; seed++ {
			jobs <- job{sp, seed}
		}
	}
	close(jobs)
	wg.Wait()
	n := len(names) * runsPerStrategy
	t.Logf("%d runs of %s in %v, %d scheduling points and %d decisions per run on average", n, argv[0],
		time.Since(start).Round(time.Millisecond), steps/n, decisions/n)
	if len(failures) > 0 {
		t.Fatalf("%d of %d runs differ from the native run (want stdout:\n%s)\nfirst: %s", len(failures),
			n, want, strings.Join(failures[:min(3, len(failures))], "\n"))
	}
}

// TestBlockingTransfers: writes larger than a pipe's or socket's buffer,
// a full eventfd, MSG_WAITALL, PIPE_BUF atomicity, EPIPE and SIGPIPE, a
// FIFO opened O_RDWR, a connect to a full unix backlog, recvmmsg and
// splice give their native results in every schedule.
func TestBlockingTransfers(t *testing.T) {
	testenv.RequirePtrace(t)
	path := build(t, "io_block")
	everySchedule(t, nativeStdout(t, path), nil, path)
}

// TestPollTimeouts: poll, ppoll, select, pselect6, epoll_wait and
// epoll_pwait2 with nothing ready return 0 once, at their virtual
// deadline (select and pselect6 write back the time left), and return
// the ready fd when another thread writes before it.
func TestPollTimeouts(t *testing.T) {
	testenv.RequirePtrace(t)
	path := build(t, "polls")
	// Every timeout, slept once: 100+50+10*10+250+100+200+30+80+40+20+1 ms.
	const slept = 971 * time.Millisecond
	everySchedule(t, nativeStdout(t, path), func(r *explore.Result) error {
		if vt := time.Duration(r.Outcome.VirtualTime); vt < slept || vt > slept+slept/2 {
			return fmt.Errorf("virtual time %v, want about %v (each timeout once)", vt, slept)
		}
		return nil
	}, path)
}

// TestKernelWaitsOnGuests: blocking FIFO opens (either end first), flock
// and fcntl(F_SETLKW) locks between processes, OFD locks between threads,
// SysV message queues and semaphores and POSIX message queues wait at
// scheduling points, not in the kernel, and give their native results.
func TestKernelWaitsOnGuests(t *testing.T) {
	testenv.RequirePtrace(t)
	path := build(t, "ipc_block")
	everySchedule(t, nativeStdout(t, path), nil, path)
}

// TestInt80Futex: futex waits and wakes made through int $0x80 (the i386
// ABI) are emulated like 64-bit ones, and i386 clock calls tell virtual
// time.
func TestInt80Futex(t *testing.T) {
	testenv.RequirePtrace(t)
	path := build(t, "int80")
	everySchedule(t, nativeStdout(t, path), nil, path)
}

// TestIoUringRefused: io_uring_setup fails with ENOSYS under the
// scheduler (programs fall back to plain syscalls).
func TestIoUringRefused(t *testing.T) {
	testenv.RequirePtrace(t)
	path := build(t, "io_uring")
	everySchedule(t, "io_uring_setup: -1, Function not implemented\n", nil, path)
}

// TestProcessSharedFutex: a process-shared mutex, condition variable and
// semaphore in MAP_SHARED memory work across fork, also when the child
// maps the shm_open'ed object at another address: shared futexes are
// keyed by the mapped object and offset, as the kernel keys them.
func TestProcessSharedFutex(t *testing.T) {
	testenv.RequirePtrace(t)
	path := build(t, "pshared")
	everySchedule(t, nativeStdout(t, path), nil, path)
}

// TestGoTimers: a Go program's timers (a Ticker over 5.5 s, time.After
// in a select, context.WithTimeout) and a net/http server and client over
// loopback behave as they do natively: the Go netpoller waits in
// epoll_pwait with a timeout, which must expire once, at its deadline.
func TestGoTimers(t *testing.T) {
	testenv.RequirePtrace(t)
	path := filepath.Join(t.TempDir(), "gotimers")
	cmd := exec.Command("go", "build", "-trimpath", "-buildvcs=false", "-o", path, "./testdata/gotimers")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	everySchedule(t, nativeStdout(t, path), nil, path)
}

// TestShellPipelines: shell pipelines moving more than a pipe buffer, and
// a FIFO between a background job and the shell, print their native
// output (a writer blocked in the kernel on a full pipe hung them).
func TestShellPipelines(t *testing.T) {
	testenv.RequirePtrace(t)
	dir := t.TempDir()
	big := filepath.Join(dir, "1m")
	if err := os.WriteFile(big, make([]byte, 1000000), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ name, script string }{
		{"zero_pipe", "head -c 1000000 /dev/zero | wc -c"},
		{"file_pipe", "cat " + big + " | wc -c"},
		{"fifo", "f=" + dir + "/fifo.$$; mkfifo $f; echo through the fifo > $f | cat $f; cat $f | echo and back > $f; rm $f"},
	} {
		t.Run(c.name, func(t *testing.T) {
			argv := []string{"/bin/sh", "-c", c.script}
			everySchedule(t, nativeStdout(t, argv...), nil, argv...)
		})
	}
}

// TestExternalPoll: an untimed poll of an fd only the outside fills (no
// guest thread can run meanwhile) waits for real for that input, and the
// run is marked as depending on it.
func TestExternalPoll(t *testing.T) {
	testenv.RequirePtrace(t)
	path := build(t, "poll_stdin")
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	go func() {
		// Whenever it comes, the guest waits for it: no timing matters.
		time.Sleep(200 * time.Millisecond)
		pw.WriteString("hi\n")
		pw.Close()
	}()
	r, err := explore.Run(context.Background(), &explore.Target{Path: path, Args: []string{path}},
		explore.Config{Seed: 1, Timeout: 20 * time.Second, Stdin: pr})
	if err != nil {
		t.Fatal(err)
	}
	if r.Failed() || string(r.Stdout) != "poll 1 read 3\n" {
		t.Fatalf("poll of external input: %s, stdout %q\n%s", r.Describe(), r.Stdout, r.Outcome.Report)
	}
	marked := false
	for _, n := range r.Outcome.Nondeterministic {
		marked = marked || strings.Contains(n, "external input")
	}
	if !marked {
		t.Fatalf("run not marked as depending on external input: %v", r.Outcome.Nondeterministic)
	}
}

// TestPollersDoNotRetryEachOther: two threads waiting without a timeout
// in poll and epoll_wait for a third thread that makes 2000 system calls
// before it writes their pipes. A poll that found nothing is retried only
// after a point at which an fd may have changed, not after the other
// poller's empty poll: otherwise two pollers that PCT ranks above the
// writer retry each other forever (a false livelock at -max-steps; so
// were python's http.server under pct:3 and node's epoll threads).
func TestPollersDoNotRetryEachOther(t *testing.T) {
	testenv.RequirePtrace(t)
	path := build(t, "poll_pingpong")
	want := nativeStdout(t, path)
	tgt := &explore.Target{Path: path, Args: []string{path}}
	// The writer's 2000 points, each of which may release both pollers
	// once: about 3 decisions a point, far below this bound.
	const maxSteps = 20_000
	for _, name := range strategiesUnderTest {
		sp, err := explore.ParseSpec(name)
		if err != nil {
			t.Fatal(err)
		}
		for seed := uint64(1); seed <= 10; seed++ {
			r, err := explore.Run(context.Background(), tgt, explore.Config{Seed: seed, Strategy: sp,
				Timeout: 60 * time.Second, MaxSteps: maxSteps})
			if err != nil {
				t.Fatalf("%s seed %d: %v", name, seed, err)
			}
			if r.Failed() || string(r.Stdout) != want {
				t.Fatalf("%s seed %d: %s, stdout:\n%s\n%s", name, seed, r.Describe(), r.Stdout, r.Outcome.Report)
			}
		}
	}
}

// TestChildWaitsAndSendfile: waitid on a running child (P_PID, and P_ALL
// with WNOWAIT before a waitpid), sendfile of more than a pipe holds into
// a pipe another thread drains (each call moves at most what fits, as
// natively), and tee from an empty pipe another thread fills give their
// native results in every schedule.
func TestChildWaitsAndSendfile(t *testing.T) {
	testenv.RequirePtrace(t)
	path := build(t, "wait_sendfile")
	everySchedule(t, nativeStdout(t, path), nil, path)
}
