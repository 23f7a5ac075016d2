package intercept

import (
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/schedfuzz/schedfuzz/intercept/syscalls"
)

// Syscall is one system call at its entry stop. A handler may change Nr and
// Args before the call continues; the tracer writes the registers back only
// if they changed, and then puts the guest's argument registers back at the
// call's exit (the syscall instruction preserves them), stopping there if
// the tool did not ask to.
type Syscall struct {
	Nr   int
	Args [6]uint64
	Arch syscalls.Arch
	// IP and SP are the guest's instruction and stack pointers at entry.
	IP, SP uint64

	origNr   int
	origArgs [6]uint64
	scratch  uint64 // the lowest scratch address handed out (0: none yet)
	// entryNr and entryArgs are what the registers held at the entry
	// stop: the guest's call, or the one Thread.RestartWith re-issued.
	entryNr   int
	entryArgs [6]uint64
}

// redZone is the part of the stack below SP that the x86-64 ABI lets a
// function use without moving SP: scratch data goes below it.
const redZone = 128

// Scratch copies data into the calling thread's stack, below SP and its
// red zone, and returns its guest address: room for a rewritten argument
// (a path, a struct) that the call reads instead of the guest's own. It
// is valid until the call returns; successive calls place data below the
// previous one, 16-byte aligned. Only the thread itself uses that part of
// its stack, so threads running at the same time do not collide. The
// kernel copies a call's in-arguments at its start, before a signal
// delivered on its return could build a frame over them; out-arguments
// written there are overwritten by such a frame.
func (c *Syscall) Scratch(mem *Memory, data []byte) (uint64, error) {
	top := c.SP - redZone
	if c.scratch != 0 {
		top = c.scratch
	}
	addr := (top - uint64(len(data))) &^ 15
	c.scratch = addr
	if _, err := mem.WriteAt(data, int64(addr)); err != nil {
		return 0, fmt.Errorf("scratch data below sp %#x: %w", c.SP, err)
	}
	return addr, nil
}

// OrigArgs returns the arguments the guest passed. For a call re-issued
// with Thread.RestartWith they are those of the guest's original call,
// not the re-issued ones (which are in Args).
func (c *Syscall) OrigArgs() [6]uint64 { return c.origArgs }

// modified reports whether the registers must change before the call runs.
func (c *Syscall) modified() bool { return c.Nr != c.entryNr || c.Args != c.entryArgs }

// displaced reports whether the call runs with other arguments than the
// guest passed: they must be put back at its exit, since the syscall
// instruction preserves every register but the result's.
func (c *Syscall) displaced() bool { return c.Nr != c.origNr || c.Args != c.origArgs }

// Action says how a thread stopped at a syscall entry goes on.
type Action struct {
	kind actionKind
	ret  int64
}

type actionKind uint8

const (
	actContinue  actionKind = iota // run the syscall
	actTraceExit                   // run it and stop at its exit
	actEmulate                     // skip it; the guest sees ret
	actHold                        // leave the thread stopped
	actInterrupt                   // end it as interrupted by a signal (ret: the code)
)

// Continue runs the (possibly modified) syscall without stopping at its exit.
func Continue() Action { return Action{kind: actContinue} }

// TraceExit runs the syscall and calls Tool.SyscallExit when it returns.
// This costs one more stop.
func TraceExit() Action { return Action{kind: actTraceExit} }

// Emulate skips the syscall; the guest sees ret as its result (a negative
// errno for failure, see Errno). It costs no extra stop.
func Emulate(ret int64) Action { return Action{kind: actEmulate, ret: ret} }

// Errno is the raw return value of a syscall failing with e.
func Errno(e unix.Errno) int64 { return -int64(e) }

// Hold leaves the thread stopped at its syscall entry after the handler
// returns. The tool resumes it later with Thread.Resume. Holding is how a
// scheduler keeps every thread but one at a known point.
func Hold() Action { return Action{kind: actHold} }

// Kernel-internal results of a syscall interrupted by a signal
// (include/linux/errno.h), for Interrupt. When the signal has no handler
// the kernel restarts the call for all four; with a handler it fails with
// EINTR, except ERestartSys with SA_RESTART and ERestartNoIntr, which
// restart. A restarted call re-executes the syscall instruction (the
// RestartBlock code: restart_syscall(2) instead).
const (
	ERestartSys          = 512 // ERESTARTSYS
	ERestartNoIntr       = 513 // ERESTARTNOINTR
	ERestartNoHand       = 514 // ERESTARTNOHAND
	ERestartRestartBlock = 516 // ERESTART_RESTARTBLOCK
)

// Interrupt ends the thread's syscall as if a signal had interrupted it
// with the raw result ret: one of the ERestart codes (negated), or a
// plain error such as Errno(EINTR). On the way back to user mode the
// kernel delivers the signal (Tool.Signal sees it) and applies its own
// rules to the code: it runs the handler and makes the call fail with
// EINTR or restart (SA_RESTART), or restarts the call if no handler runs.
// At a syscall entry the call is skipped (one more stop: its exit); at an
// exit the call's original arguments are restored first, so a restart
// re-executes the call the guest made. A signal must be pending and
// deliverable to the thread (unblocked, or a stop pending for its
// process): otherwise the guest sees ret itself.
func Interrupt(ret int64) Action { return Action{kind: actInterrupt, ret: ret} }

// Emulated reports whether a is an Emulate action, and the result it
// gives the guest.
func (a Action) Emulated() (int64, bool) { return a.ret, a.kind == actEmulate }

// Runs reports whether a lets the syscall run (Continue or TraceExit).
func (a Action) Runs() bool { return a.kind == actContinue || a.kind == actTraceExit }

func (a Action) String() string {
	switch a.kind {
	case actInterrupt:
		return fmt.Sprintf("interrupt(%d)", a.ret)
	case actContinue:
		return "continue"
	case actTraceExit:
		return "trace-exit"
	case actEmulate:
		return fmt.Sprintf("emulate(%d)", a.ret)
	case actHold:
		return "hold"
	}
	return "invalid"
}

// Subscription is the set of native syscalls a tool wants to see. The tracer
// compiles it into the seccomp filter: unsubscribed syscalls never stop and
// cost nothing. Calls made through a foreign ABI (int $0x80, x32) are always
// delivered, since their numbers cannot be matched against the native table.
type Subscription struct {
	all  bool
	nums map[int]bool
}

// SubscribeAll sees every syscall.
func SubscribeAll() Subscription { return Subscription{all: true} }

// SubscribeTo sees the listed native syscall numbers.
func SubscribeTo(nrs ...int) Subscription {
	s := Subscription{nums: make(map[int]bool, len(nrs))}
	for _, nr := range nrs {
		s.nums[nr] = true
	}
	return s
}

// Add adds syscalls to the subscription.
func (s *Subscription) Add(nrs ...int) {
	if s.nums == nil {
		s.nums = make(map[int]bool)
	}
	for _, nr := range nrs {
		s.nums[nr] = true
	}
}

// Has reports whether nr is subscribed.
func (s Subscription) Has(nr int) bool { return s.all || s.nums[nr] }

// All reports whether every syscall is subscribed.
func (s Subscription) All() bool { return s.all }

// Tool receives the guest's events. All methods run on the tracer's single
// locked thread, one at a time, in the order the events were observed: a
// tool needs no locking for its own state. Per-thread and per-process state
// hang off Thread.State and Process.State; global state is the tool value
// itself. Embed NopTool to implement only what you need.
type Tool interface {
	// Subscription is called once, before the guest starts.
	Subscription() Subscription
	// ProcessStart is called for the first process (parent == nil) and for
	// every new process (fork, vfork, clone without CLONE_THREAD), before
	// ThreadStart of its first thread.
	ProcessStart(p *Process, parent *Process)
	// ThreadStart is called when a new thread is at its first stop, before
	// it runs any code. parent is the thread that created it (nil for the
	// first thread). Both are stopped; either may be held with Thread.Hold.
	ThreadStart(t *Thread, parent *Thread)
	// SyscallEnter is called at the entry of every subscribed syscall.
	SyscallEnter(t *Thread, c *Syscall) Action
	// SyscallExit is called when a syscall resumed with TraceExit returns.
	// ret is the raw result (negative errno on failure); returning a
	// different value changes what the guest sees.
	SyscallExit(t *Thread, c *Syscall, ret int64) int64
	// Signal is called when a signal is about to be delivered to t. It
	// returns the signal to deliver (0 suppresses it).
	Signal(t *Thread, sig unix.Signal, info *unix.Siginfo) unix.Signal
	// Breakpoint is called when t is about to execute the instruction at
	// addr, a breakpoint set with Process.SetBreakpoint. Regs shows rip ==
	// addr. Continue executes the instruction and runs on; Hold keeps t
	// there until Thread.Resume (other actions act as Continue).
	Breakpoint(t *Thread, addr uint64) Action
	// Watchpoint is called when t has accessed the bytes watched by
	// debug-register slot (Process.SetWatchpoint) at addr: after the
	// accessing instruction for WatchWrite and WatchReadWrite, before the
	// instruction at addr for WatchExec. Continue or Hold, as for
	// Breakpoint. One instruction that triggers several slots calls it
	// once per slot, in slot order.
	Watchpoint(t *Thread, slot int, addr uint64) Action
	// CPUTick is called when t, running user code, has used another
	// Options.CPUTick of CPU time (see cputick_linux.go). t is stopped at
	// a signal the guest never sees: it may be held, or stepped.
	CPUTick(t *Thread)
	// GroupStop is called when t enters a group-stop: a stop signal (sig:
	// SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU) was delivered to its process.
	// Unless held, t stays stopped (PTRACE_LISTEN) until a SIGCONT ends
	// the stop; then Continued is called. A tool that holds t must resume
	// it only once the stop has ended: Resume lets it run on regardless.
	GroupStop(t *Thread, sig unix.Signal)
	// Continued is called when t, in a group-stop, was resumed after the
	// stop ended (SIGCONT), before it runs on. t may be held.
	Continued(t *Thread)
	// Exec is called when t's process has completed an execve, at the entry
	// point of the new program. Other threads of the process are gone.
	Exec(t *Thread, formerTid int)
	// ThreadExit is called when t is exiting, while its memory is still
	// readable. status is the exit code passed to exit(2) (or the wait
	// status of a fatal signal).
	ThreadExit(t *Thread, status int)
	// ThreadReaped is called when t's death has been reported (after
	// ThreadExit), with its wait status. Its CLONE_CHILD_CLEARTID word has
	// been cleared by then. A zombie leader is reaped last, just before
	// ProcessExit.
	ThreadReaped(t *Thread, status unix.WaitStatus)
	// ProcessExit is called when the last thread of p is gone.
	ProcessExit(p *Process, status unix.WaitStatus)
}

// NopTool implements Tool by observing nothing. Embed it.
type NopTool struct{}

func (NopTool) Subscription() Subscription                       { return Subscription{} }
func (NopTool) ProcessStart(*Process, *Process)                  {}
func (NopTool) ThreadStart(*Thread, *Thread)                     {}
func (NopTool) SyscallEnter(*Thread, *Syscall) Action            { return Continue() }
func (NopTool) SyscallExit(_ *Thread, _ *Syscall, r int64) int64 { return r }
func (NopTool) Signal(_ *Thread, s unix.Signal, _ *unix.Siginfo) unix.Signal {
	return s
}
func (NopTool) Breakpoint(*Thread, uint64) Action      { return Continue() }
func (NopTool) Watchpoint(*Thread, int, uint64) Action { return Continue() }
func (NopTool) CPUTick(*Thread)                        {}
func (NopTool) GroupStop(*Thread, unix.Signal)         {}
func (NopTool) Continued(*Thread)                      {}
func (NopTool) Exec(*Thread, int)                      {}
func (NopTool) ThreadExit(*Thread, int)                {}
func (NopTool) ThreadReaped(*Thread, unix.WaitStatus)  {}
func (NopTool) ProcessExit(*Process, unix.WaitStatus)  {}
