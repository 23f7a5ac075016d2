package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/schedfuzz/schedfuzz/explore"
	"github.com/schedfuzz/schedfuzz/intercept"
	"github.com/schedfuzz/schedfuzz/intercept/syscalls"
	"github.com/schedfuzz/schedfuzz/sched"
)

// StopList is what the tracer stopped for in one scheduled run: the
// events the scheduler was called for, in order, and the total number of
// stops intercept handled (every wait4 report, deaths included).
type StopList struct {
	Events []string
	Stops  uint64
	Points int
}

// stopLogger is the scheduler with every callback that follows a stop
// logged first.
type stopLogger struct {
	*sched.Scheduler
	events []string
}

func (l *stopLogger) add(format string, args ...any) {
	l.events = append(l.events, fmt.Sprintf(format, args...))
}

func (l *stopLogger) ThreadStart(t *intercept.Thread, parent *intercept.Thread) {
	l.add("thread start (tid %d)", t.Tid)
	l.Scheduler.ThreadStart(t, parent)
}

func (l *stopLogger) SyscallEnter(t *intercept.Thread, c *intercept.Syscall) intercept.Action {
	name := syscalls.Name(c.Nr)
	if c.Arch != syscalls.X86_64 {
		name = c.Arch.String() + "_" + strconv.Itoa(c.Nr)
	}
	l.add("syscall %s", name)
	return l.Scheduler.SyscallEnter(t, c)
}

func (l *stopLogger) SyscallExit(t *intercept.Thread, c *intercept.Syscall, ret int64) int64 {
	l.add("syscall exit %s", syscalls.Name(c.Nr))
	return l.Scheduler.SyscallExit(t, c, ret)
}

func (l *stopLogger) Signal(t *intercept.Thread, sig unix.Signal, info *unix.Siginfo) unix.Signal {
	what := "signal " + unix.SignalName(sig)
	if regs, err := t.Regs(); err == nil {
		if n, ok := t.RDTSC(&regs); ok {
			what = fmt.Sprintf("rdtsc (%d-byte instruction) trapped", n)
		}
		what += " in " + mappingOf(t.Proc.Pid, regs.Rip)
	}
	l.add("%s", what)
	return l.Scheduler.Signal(t, sig, info)
}

func (l *stopLogger) Exec(t *intercept.Thread, former int) {
	l.add("exec")
	l.Scheduler.Exec(t, former)
}

func (l *stopLogger) ThreadExit(t *intercept.Thread, status int) {
	l.add("thread exit (PTRACE_EVENT_EXIT)")
	l.Scheduler.ThreadExit(t, status)
}

func (l *stopLogger) ThreadReaped(t *intercept.Thread, ws unix.WaitStatus) {
	l.add("thread reaped (its death reported by wait4)")
	l.Scheduler.ThreadReaped(t, ws)
}

// mappingOf names the file mapped at addr in process pid.
func mappingOf(pid int, addr uint64) string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/maps")
	if err != nil {
		return fmt.Sprintf("%#x", addr)
	}
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) < 5 {
			continue
		}
		lo, hi, ok := strings.Cut(f[0], "-")
		if !ok {
			continue
		}
		a, _ := strconv.ParseUint(lo, 16, 64)
		z, _ := strconv.ParseUint(hi, 16, 64)
		if addr >= a && addr < z {
			name := "anonymous memory"
			if len(f) >= 6 {
				name = filepath.Base(f[5])
			}
			return name
		}
	}
	return fmt.Sprintf("%#x", addr)
}

// ListStops runs argv once under the scheduler (as RunSched does, pinned
// to cpu) and lists what it stopped for.
func ListStops(ctx context.Context, argv []string, cpu int, seed uint64) (*StopList, error) {
	s := sched.New(sched.Config{Decider: &sched.Recording{Strategy: explore.Spec{Name: "random"}.New(seed, explore.Hint{})}, Seed: seed, Done: ctx.Done()})
	l := &stopLogger{Scheduler: s}
	res, err := intercept.Run(ctx, &intercept.Command{Path: argv[0], Args: argv}, l, pinned(s.TracerOptions(), cpu))
	o := s.Outcome()
	if err != nil {
		return nil, err
	}
	if o.Kind != sched.Finished || res.ExitCode() != 0 {
		return nil, fmt.Errorf("%v: %s, exit %d: %s", argv, o.Kind, res.ExitCode(), o.Report)
	}
	return &StopList{Events: l.events, Stops: res.Stops, Points: o.Steps}, nil
}
