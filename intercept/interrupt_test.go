package intercept_test

import (
	"os/exec"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/schedfuzz/schedfuzz/intercept"
	"github.com/schedfuzz/schedfuzz/internal/testenv"
)

// interrupter sends the thread a signal at chosen calls and ends them
// with Interrupt, at their entry or at their exit.
type interrupter struct {
	intercept.NopTool
	reads, ppids int
	log          []string
}

func (r *interrupter) Subscription() intercept.Subscription {
	return intercept.SubscribeTo(unix.SYS_READ, unix.SYS_NANOSLEEP, unix.SYS_CLOCK_NANOSLEEP, unix.SYS_GETPPID)
}

func (r *interrupter) SyscallEnter(t *intercept.Thread, c *intercept.Syscall) intercept.Action {
	kill := func(sig unix.Signal) { unix.Tgkill(t.Proc.Pid, t.Tid, sig) }
	switch c.Nr {
	case unix.SYS_READ:
		if c.Args[0] != 100 {
			return intercept.Continue()
		}
		r.reads++
		switch r.reads {
		case 1:
			kill(unix.SIGUSR1)
			return intercept.Interrupt(-intercept.ERestartSys)
		case 2:
			kill(unix.SIGUSR2)
			return intercept.Interrupt(-intercept.ERestartSys)
		}
		return intercept.Emulate(0) // the restarted read
	case unix.SYS_NANOSLEEP, unix.SYS_CLOCK_NANOSLEEP:
		kill(unix.SIGUSR2)
		return intercept.Interrupt(-intercept.ERestartRestartBlock)
	case unix.SYS_GETPPID:
		r.ppids++
		if r.ppids == 1 {
			return intercept.TraceExit()
		}
	}
	return intercept.Continue()
}

func (r *interrupter) SyscallExit(t *intercept.Thread, c *intercept.Syscall, ret int64) int64 {
	if c.Nr == unix.SYS_GETPPID && r.ppids == 1 {
		unix.Tgkill(t.Proc.Pid, t.Tid, unix.SIGWINCH)
		t.Hold()
		if err := t.Resume(intercept.Interrupt(-intercept.ERestartSys)); err != nil {
			r.log = append(r.log, err.Error())
		}
	}
	return ret
}

func (r *interrupter) Signal(t *intercept.Thread, sig unix.Signal, _ *unix.Siginfo) unix.Signal {
	r.log = append(r.log, unix.SignalName(sig))
	return sig
}

// TestInterrupt: a call ended with Interrupt while a signal is pending
// fails with EINTR when a handler without SA_RESTART runs, and for
// ERESTART_RESTARTBLOCK whatever the handler; it restarts with SA_RESTART
// and when no handler runs (an ignored signal), at its entry and at its
// exit alike.
func TestInterrupt(t *testing.T) {
	testenv.RequirePtrace(t)
	prog := filepath.Join(t.TempDir(), "interrupt")
	if b, err := exec.Command("gcc", "-O1", "-o", prog, filepath.Join("testdata", "interrupt.c")).CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v\n%s", err, b)
	}
	tool := &interrupter{}
	res, out := run(t, tool, intercept.Options{}, prog)
	want := "read: -1 EINTR, usr1 1\nread: 0, usr2 1\nnanosleep: -1 EINTR, usr2 2\ngetppid: ok\n"
	if out != want || res.ExitCode() != 0 {
		t.Errorf("exit %d, output:\n%s\nwant:\n%s", res.ExitCode(), out, want)
	}
	if tool.reads != 3 || tool.ppids < 2 {
		t.Errorf("%d reads of fd 100 (want 3: one restarted), %d getppid (want the first restarted)", tool.reads, tool.ppids)
	}
	wantLog := []string{"SIGUSR1", "SIGUSR2", "SIGUSR2", "SIGWINCH"}
	if len(tool.log) != len(wantLog) {
		t.Fatalf("signals delivered: %v, want %v", tool.log, wantLog)
	}
	for i := range wantLog {
		if tool.log[i] != wantLog[i] {
			t.Fatalf("signals delivered: %v, want %v", tool.log, wantLog)
		}
	}
}

// stopWatcher records group-stops and their ends.
type stopWatcher struct {
	intercept.NopTool
	log []string
}

func (w *stopWatcher) Subscription() intercept.Subscription { return intercept.SubscribeTo() }

func (w *stopWatcher) GroupStop(t *intercept.Thread, sig unix.Signal) {
	w.log = append(w.log, "stop "+unix.SignalName(sig))
}

func (w *stopWatcher) Continued(t *intercept.Thread) { w.log = append(w.log, "continued") }

// TestGroupStop: a child that stops itself is reported once by GroupStop,
// stays stopped (its parent's waitpid with WUNTRACED sees it) until its
// parent's SIGCONT, which Continued reports.
func TestGroupStop(t *testing.T) {
	testenv.RequirePtrace(t)
	prog := filepath.Join(t.TempDir(), "wuntraced")
	src := filepath.Join("..", "sched", "testdata", "signals", "wuntraced.c")
	if b, err := exec.Command("gcc", "-O1", "-pthread", "-o", prog, src).CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v\n%s", err, b)
	}
	w := &stopWatcher{}
	_, out := run(t, w, intercept.Options{}, prog)
	if want := "one thread: stopped 1, exited 1 status 3\ntwo threads: stopped 1, exited 1 status 4\n"; out != want {
		t.Errorf("output %q, want %q", out, want)
	}
	if len(w.log) < 2 || w.log[0] != "stop SIGSTOP" || w.log[1] != "continued" {
		t.Errorf("events %v, want a stop, then its end", w.log)
	}
}
