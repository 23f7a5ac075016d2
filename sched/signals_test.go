package sched_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/schedfuzz/schedfuzz/explore"
	"github.com/schedfuzz/schedfuzz/internal/testenv"
	"github.com/schedfuzz/schedfuzz/sched"
)

// strategies are the ones every real program must pass under.
var strategies = []explore.Spec{{Name: "random"}, {Name: "pct", Depth: 3}, {Name: "pos"}, {Name: "chaos"}}

// buildSignals compiles testdata/signals/name.c.
func buildSignals(t *testing.T, name string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), name)
	if b, err := exec.Command("gcc", "-O1", "-pthread", "-o", out, filepath.Join("testdata", "signals", name+".c")).CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v\n%s", err, b)
	}
	return out
}

// native runs argv without schedfuzz: its output and exit status are
// what every scheduled run must give.
func native(t *testing.T, argv []string) ([]byte, int) {
	t.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	var out bytes.Buffer
	cmd.Stdout = &out
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return out.Bytes(), 0
	case errors.As(err, &ee) && ee.Exited():
		return out.Bytes(), ee.ExitCode()
	}
	t.Fatalf("native run of %v: %v", argv, err)
	return nil, 0
}

// sameAsNative runs argv runs times under each strategy and checks every
// run ends as the native run does (exit status and output), with no
// deadlock or hang, not marked nondeterministic, and that the first run
// of each strategy replays.
func sameAsNative(t *testing.T, runs int, argv ...string) {
	t.Helper()
	path, err := exec.LookPath(argv[0])
	if err != nil {
		t.Skipf("%s: %v", argv[0], err)
	}
	wantOut, wantExit := native(t, argv)
	for _, sp := range strategies {
		start := time.Now()
		var problems []string
		reported := 0
		var sess *explore.Session
		sess = &explore.Session{
			Target:    &explore.Target{Path: path, Args: argv},
			Seed:      0x5161_7a15,
			Runs:      runs,
			Parallel:  2,
			Portfolio: []explore.Spec{sp},
			Template:  explore.Config{Timeout: 30 * time.Second},
			Report: func(rep *explore.RunReport) bool {
				reported++
				r := rep.Result
				switch {
				case rep.Err != nil:
					problems = append(problems, fmt.Sprintf("run %d: %v", rep.Index, rep.Err))
				case r.Hang || r.Outcome.Kind != sched.Finished || !r.Status.Exited() ||
					r.Status.ExitStatus() != wantExit || !bytes.Equal(r.Stdout, wantOut):
					problems = append(problems, fmt.Sprintf("run %d (seed %#x): %s, stdout %q (native: exit %d, %q)\n%s%s",
						rep.Index, rep.Seed, r.Describe(), r.Stdout, wantExit, wantOut, r.Stderr, r.Outcome.Report))
				case len(r.Outcome.Nondeterministic) > 0:
					problems = append(problems, fmt.Sprintf("run %d (seed %#x) marked nondeterministic: %v",
						rep.Index, rep.Seed, r.Outcome.Nondeterministic))
				case rep.Index == 0:
					// The run replays: signals and timers come at the
					// same points.
					again, err := explore.Run(context.Background(), sess.Target,
						explore.Config{Seed: rep.Seed, Timeout: 30 * time.Second, Strategy: sp, Replay: r.Decisions})
					if err != nil || again.Outcome.Kind != sched.Finished || !bytes.Equal(again.Stdout, r.Stdout) {
						problems = append(problems, fmt.Sprintf("replay of run 0: %v %s %v, stdout %q", err, again.Describe(), again.Divergence, again.Stdout))
					}
				}
				return len(problems) >= 3
			},
		}
		if _, err := sess.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		if reported != runs && len(problems) < 3 {
			t.Fatalf("%d runs reported, want %d", reported, runs)
		}
		if len(problems) > 0 {
			t.Errorf("%v under %s:\n%s", argv, sp, strings.Join(problems, "\n"))
		}
		t.Logf("%s: %d runs in %v", sp, runs, time.Since(start).Round(time.Millisecond))
	}
}

// TestSignalPrograms: C programs whose threads wait for signals and
// timers behave as natively under every strategy, 20 runs each.
func TestSignalPrograms(t *testing.T) {
	testenv.RequirePtrace(t)
	for _, name := range []string{
		"alarm_pause",     // SIGALRM of alarm(2) wakes pause(2)
		"sigchld_suspend", // SIGCHLD of an exiting child wakes sigsuspend
		"itimer",          // periodic setitimer, getitimer, disarm
		"posix_timer",     // timer_create: SIGEV_THREAD_ID, SIGEV_SIGNAL, SIGEV_THREAD
		"timerfd_epoll",   // a 3 s timerfd in epoll, a periodic one read
		"signalfd",        // blocking read and poll of a signalfd
		"cancel_cond",     // deferred pthread_cancel in pthread_cond_wait
		"cancel_async",    // asynchronous pthread_cancel of a spinning thread
		"wuntraced",       // a child stops itself; waitpid(WUNTRACED), SIGCONT
		"eintr",           // EINTR and SA_RESTART, blocked and ignored signals
		"masks",           // temporary masks; the thread a signal goes to; sigwait
		"stopcont",        // SIGSTOP, SIGCONT of a child waiting with timeouts
		"pdeathsig",       // the parent-death signal of a grandchild
	} {
		t.Run(name, func(t *testing.T) {
			sameAsNative(t, 20, buildSignals(t, name))
		})
	}
}

// TestShellJobs: shells waiting for background jobs (dash waits in
// sigsuspend for SIGCHLD), and coreutils timeout (timer_create, then
// sigsuspend; on expiry it kills its child).
func TestShellJobs(t *testing.T) {
	testenv.RequirePtrace(t)
	for _, argv := range [][]string{
		{"sh", "-c", "sleep 0.01 & wait"},
		{"sh", "-c", "sleep 0.1 & sleep 0.2 & wait; echo done"},
		{"bash", "-c", "sleep 0.05 & p=$!; sleep 0.02 & wait $p; echo waited $?; wait; echo done"},
		{"timeout", "5", "true"},
		{"timeout", "1", "sleep", "10"},
	} {
		t.Run(strings.Join(argv, " "), func(t *testing.T) {
			sameAsNative(t, 20, argv...)
		})
	}
}

// TestCancelSpinning: an asynchronous pthread_cancel reaches a thread that
// spins without syscalls (held at a watchdog preemption when SIGCANCEL is
// sent). Preemptions cost CPU time, so a few random runs only.
func TestCancelSpinning(t *testing.T) {
	testenv.RequirePtrace(t)
	path := buildSignals(t, "cancel_spin")
	for seed := uint64(1); seed <= 3; seed++ {
		r, err := explore.Run(context.Background(), &explore.Target{Path: path, Args: []string{path}},
			explore.Config{Seed: seed, Timeout: 60 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		if r.Failed() || string(r.Stdout) != "canceled\n" {
			t.Fatalf("seed %d: %s, stdout %q\n%s", seed, r.Describe(), r.Stdout, r.Outcome.Report)
		}
		t.Logf("seed %d: %d decisions in %v", seed, len(r.Decisions), r.Wall.Round(time.Millisecond))
	}
}

// TestLostWakeupFound: a racy use of signals is still found: the lost
// wake-up of a flag checked before pause(), in at most 200 runs, and its
// run replays to the same deadlock.
func TestLostWakeupFound(t *testing.T) {
	testenv.RequirePtrace(t)
	path := buildSignals(t, "lost_wakeup")
	var found *explore.RunReport
	sess := &explore.Session{
		Target:   &explore.Target{Path: path, Args: []string{path}},
		Seed:     7,
		Runs:     200,
		Parallel: 2,
		Template: explore.Config{Timeout: 30 * time.Second},
		Report: func(rep *explore.RunReport) bool {
			if rep.Verdict == explore.Fail {
				found = rep
				return true
			}
			return false
		},
	}
	if _, err := sess.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if found == nil {
		t.Fatal("the lost wake-up was not found in 200 runs")
	}
	r := found.Result
	if r.Outcome.Kind != sched.Deadlock || !strings.Contains(r.Outcome.Report, "pause") {
		t.Fatalf("run %d: %s, want a deadlock in pause\n%s", found.Index, r.Describe(), r.Outcome.Report)
	}
	sig := explore.Signature(r)
	t.Logf("found in run %d (%s): %s", found.Index, found.Strategy, sig)
	for i := 0; i < 3; i++ {
		again, err := explore.Run(context.Background(), sess.Target, explore.Config{Seed: found.Seed,
			Timeout: 30 * time.Second, Strategy: found.Strategy, Replay: r.Decisions})
		if err != nil {
			t.Fatal(err)
		}
		if again.Outcome.Kind != sched.Deadlock || explore.Signature(again) != sig {
			t.Fatalf("replay %d: %s (%v), want %s", i, again.Describe(), again.Divergence, sig)
		}
	}
}

// TestExternalSignal: a signal sent from outside the guest wakes the
// thread that waits for it, while another waits for external input.
func TestExternalSignal(t *testing.T) {
	testenv.RequirePtrace(t)
	path := buildSignals(t, "external")
	pidFile := filepath.Join(t.TempDir(), "pid")
	inR, inW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer inR.Close()
	defer inW.Close()
	go func() {
		for i := 0; i < 3000; i++ {
			b, err := os.ReadFile(pidFile)
			if pid, err2 := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && err2 == nil && pid > 0 {
				time.Sleep(50 * time.Millisecond)
				unix.Kill(pid, unix.SIGUSR1)
				time.Sleep(50 * time.Millisecond)
				inW.WriteString("x\n")
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	r, err := explore.Run(context.Background(), &explore.Target{Path: path, Args: []string{path, pidFile}},
		explore.Config{Seed: 1, Timeout: 30 * time.Second, Stdin: inR})
	if err != nil {
		t.Fatal(err)
	}
	if r.Failed() || string(r.Stdout) != "got SIGUSR1, read x\n" {
		t.Fatalf("%s, stdout %q\n%s", r.Describe(), r.Stdout, r.Outcome.Report)
	}
	t.Logf("nondeterministic: %v", r.Outcome.Nondeterministic)
}

// TestPollDeadlock: a poll that nothing can satisfy is a deadlock, not a
// hang: looking for signals once no thread can run does not retry it.
func TestPollDeadlock(t *testing.T) {
	testenv.RequirePtrace(t)
	path := buildSignals(t, "poll_deadlock")
	r, err := explore.Run(context.Background(), &explore.Target{Path: path, Args: []string{path}},
		explore.Config{Seed: 1, Timeout: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if r.Outcome.Kind != sched.Deadlock || len(r.Outcome.Nondeterministic) > 0 {
		t.Fatalf("%s (%v), want a deadlock\n%s", r.Describe(), r.Outcome.Nondeterministic, r.Outcome.Report)
	}
}
