package intercept

import (
	"context"
	"os"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/schedfuzz/schedfuzz/internal/testenv"
	"github.com/schedfuzz/schedfuzz/internal/testprog"
)

// stepInto is a tool that resumes the n-th getppid call of the guest with
// PTRACE_SINGLESTEP, as a step-over of the tracer's would if it stepped
// into a syscall: the kernel then reports the step at the syscall's exit
// with a SIGTRAP (TRAP_BRKPT) that reaches the main loop.
type stepInto struct {
	NopTool
	n, calls int
	signals  []unix.Signal
}

func (s *stepInto) Subscription() Subscription { return SubscribeTo(unix.SYS_GETPPID) }

func (s *stepInto) SyscallEnter(t *Thread, c *Syscall) Action {
	s.calls++
	if s.calls == s.n {
		t.stepped = true
		if err := ptraceSingleStep(t.Tid); err != nil {
			panic(err)
		}
		t.stop = stopRunning // resumed here: the tracer must not again
	}
	return Continue()
}

func (s *stepInto) Signal(t *Thread, sig unix.Signal, _ *unix.Siginfo) unix.Signal {
	s.signals = append(s.signals, sig)
	return sig
}

// TestStepReportNotDelivered: the SIGTRAP that reports a single-step of
// the tracer's is never delivered to the guest, wherever it is reported.
func TestStepReportNotDelivered(t *testing.T) {
	testenv.RequirePtrace(t)
	path := testprog.Build(t, "syscall_loop")
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	tool := &stepInto{n: 5}
	res, err := Run(context.Background(), &Command{Path: path, Args: []string{path, "10"}, Stdout: null},
		tool, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitCode() != 0 || len(tool.signals) != 0 {
		t.Fatalf("exit %d, signals %v: the step report reached the guest", res.ExitCode(), tool.signals)
	}
	if tool.calls < 10 {
		t.Fatalf("%d getppid calls, want the guest's 10 and more", tool.calls)
	}
}

// loseBreakpoint is a tool that plants a breakpoint after the n-th
// getppid call and then drops it from the table as if it had been
// removed, leaving the int3 in the text.
type loseBreakpoint struct {
	NopTool
	n, calls int
	signals  []unix.Signal
	hits     int
}

func (l *loseBreakpoint) Subscription() Subscription { return SubscribeTo(unix.SYS_GETPPID) }

func (l *loseBreakpoint) SyscallEnter(t *Thread, c *Syscall) Action {
	l.calls++
	if l.calls == l.n {
		p := t.Proc
		if err := p.SetBreakpoint(c.IP); err != nil {
			panic(err)
		}
		p.bps.gone[c.IP] = p.bps.m[c.IP].orig
		delete(p.bps.m, c.IP)
	}
	return Continue()
}

func (l *loseBreakpoint) Breakpoint(*Thread, uint64) Action { l.hits++; return Continue() }

func (l *loseBreakpoint) Signal(t *Thread, sig unix.Signal, _ *unix.Siginfo) unix.Signal {
	l.signals = append(l.signals, sig)
	return sig
}

// TestLostBreakpointNotDelivered: an int3 at an address where the tracer
// once planted a breakpoint is the tracer's even when its table no longer
// has it: the original byte goes back and the thread runs on, and the
// guest never sees the trap.
func TestLostBreakpointNotDelivered(t *testing.T) {
	testenv.RequirePtrace(t)
	path := testprog.Build(t, "syscall_loop")
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	tool := &loseBreakpoint{n: 4}
	res, err := Run(context.Background(), &Command{Path: path, Args: []string{path, "10"}, Stdout: null},
		tool, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitCode() != 0 || len(tool.signals) != 0 || tool.hits != 0 {
		t.Fatalf("exit %d, signals %v, %d hits: the lost breakpoint's trap reached the guest or the tool", res.ExitCode(), tool.signals, tool.hits)
	}
}
