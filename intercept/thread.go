package intercept

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// stopKind is why a thread is in a ptrace-stop.
type stopKind uint8

const (
	stopRunning     stopKind = iota // not stopped: the guest owns it
	stopSeccomp                     // syscall entry (PTRACE_EVENT_SECCOMP)
	stopSyscallExit                 // syscall-exit-stop after PTRACE_SYSCALL
	stopSignal                      // signal-delivery-stop
	stopGroup                       // group-stop (resumed with PTRACE_LISTEN)
	stopEvent                       // other ptrace events, first stop, interrupts
	stopExit                        // PTRACE_EVENT_EXIT
	stopBreakpoint                  // SIGTRAP of a planted int3 (see points.go)
)

// Thread is one guest thread. It is only valid between its ThreadStart and
// ThreadExit callbacks, and only on the tracer thread.
type Thread struct {
	// Tid is the thread id. It changes once in a thread's life: a
	// non-leader thread that calls execve takes its process's pid.
	Tid int
	// Proc is the process the thread belongs to.
	Proc *Process
	// State is the tool's per-thread state.
	State any
	// CloneFlags are the flags of the clone that created the thread (0 for
	// the first thread; fork and vfork are reported as the equivalent
	// clone flags).
	CloneFlags uint64
	// ClearTID is the CLONE_CHILD_CLEARTID address given at creation
	// (0 if none); set_tid_address(2) may change it later.
	ClearTID uint64

	tr       *Tracer
	stop     stopKind
	held     bool
	wantExit bool        // resume with PTRACE_SYSCALL until the exit stop
	sig      unix.Signal // signal to deliver when resumed from stopSignal
	call     Syscall     // current syscall, valid from entry to exit
	exiting  bool        // ThreadExit has been called

	// Injection state (see Inject).
	injected bool            // an injected call replaced the original entry
	saved    unix.PtraceRegs // registers at the original entry
	reentry  bool            // the original call was re-issued
	reAction Action          // how to resume it at its re-entry stop

	// Breakpoint stop (stopBreakpoint). bpRegs are the registers with rip
	// at the breakpoint; Regs and SetRegs use them. bpSynced is false
	// while the kernel's rip is still past the int3.
	bpAddr   uint64
	bpRegs   unix.PtraceRegs
	bpSynced bool

	stepped bool     // the tracer has single-stepped it (see handleTrap)
	tick    *cpuTick // its CPU ticks (Options.CPUTick), nil if none

	// restoreArgs: the call runs with other arguments than the guest
	// passed; put the guest's back at its exit. silentExit: that exit
	// stop was requested only for this, not by the tool.
	restoreArgs bool
	silentExit  bool
	// keep is the guest's original call across a RestartWith, until the
	// re-issued call's entry.
	keep *keptCall

	vforking     bool          // in vfork until PTRACE_EVENT_VFORK_DONE
	groupStopped bool          // in a group-stop, until the trap that ends it
	interrupted  bool          // sent PTRACE_INTERRUPT, its stop not seen yet
	restart      restartExpect // see expectRestart

	// Debug registers as last written to this thread, and the
	// generation of its process's watchpoints they reflect.
	drGen  uint64
	dr7    uint64
	drAddr [NumWatchSlots]uint64
}

// Process is one guest process (thread group).
type Process struct {
	// Pid is the thread group id.
	Pid int
	// Parent is the guest process that created it (nil for the first).
	Parent *Process
	// State is the tool's per-process state.
	State any
	// Mem is the process's address space.
	Mem *Memory

	threads  []*Thread    // live threads, in creation order
	bps      *breakpoints // nil once the process is gone
	watch    watchpoints
	guestPid int // the pid the guest sees, once looked up (GuestPid)
}

// GuestPid returns the process's pid as the guest sees it: Pid, or, for
// a guest in a pid namespace of its own (a sandbox), its pid there (the
// last NSpid of /proc/PID/status; looked up once).
func (p *Process) GuestPid() int {
	if p.guestPid == 0 {
		p.guestPid = p.Pid
		if b, err := os.ReadFile("/proc/" + strconv.Itoa(p.Pid) + "/status"); err == nil {
			for _, line := range strings.Split(string(b), "\n") {
				if v, ok := strings.CutPrefix(line, "NSpid:"); ok {
					if f := strings.Fields(v); len(f) > 0 {
						if n, err := strconv.Atoi(f[len(f)-1]); err == nil {
							p.guestPid = n
						}
					}
					break
				}
			}
		}
	}
	return p.guestPid
}

// Threads returns the live threads of p in creation order.
func (p *Process) Threads() []*Thread { return append([]*Thread(nil), p.threads...) }

// Memory returns the address space of t's process.
func (t *Thread) Memory() *Memory { return t.Proc.Mem }

// Stopped reports whether the thread is stopped (not running guest code).
func (t *Thread) Stopped() bool { return t.stop != stopRunning }

// Held reports whether the tool is holding the thread stopped.
func (t *Thread) Held() bool { return t.held }

// Hold keeps t stopped after the current callback returns. Only valid
// inside a callback for t (or for a thread that is stopped for another
// reason, e.g. the parent in ThreadStart). Resume releases it.
func (t *Thread) Hold() { t.held = t.stop != stopRunning }

// ErrNotHeld is returned by Resume for a thread the tool is not holding.
var ErrNotHeld = errors.New("thread is not held")

// Resume releases a held thread. At a syscall entry, a says how the call
// goes on; at other stops only Continue (the zero Action) is meaningful and
// the thread resumes as it would have without the hold (at a breakpoint:
// executing the instruction there, see "Breakpoints and watchpoints").
func (t *Thread) Resume(a Action) error {
	if !t.held {
		return ErrNotHeld
	}
	if a.kind == actHold {
		return nil
	}
	t.held = false
	if t.stop == stopGroup {
		// Released by the tool: run on (PTRACE_CONT), not LISTEN.
		t.stop = stopEvent
	}
	return t.resume(a)
}

// AtSyscallExit reports whether t is stopped at the exit of a syscall
// (held there after a TraceExit).
func (t *Thread) AtSyscallExit() bool { return t.stop == stopSyscallExit }

// Syscall returns the call t is stopped in (valid at a syscall entry).
func (t *Thread) Syscall() *Syscall { return &t.call }

// resume restarts a stopped thread according to why it stopped.
func (t *Thread) resume(a Action) error {
	if t.stop == stopRunning {
		return nil
	}
	if t.drGen != t.Proc.watch.gen {
		if err := t.syncDebugRegs(); err != nil {
			return err
		}
	}
	var err error
	switch t.stop {
	case stopSeccomp:
		err = t.resumeSyscall(a)
	case stopSyscallExit:
		if a.kind == actInterrupt {
			err = t.interruptAtExit(a.ret)
		} else {
			err = t.cont(0)
		}
	case stopSignal:
		err = t.cont(t.sig)
	case stopGroup:
		err = ptraceListen(t.Tid)
	case stopBreakpoint:
		err = t.resumeBreakpoint()
	default:
		err = t.cont(0)
	}
	t.stop = stopRunning
	t.sig = 0
	if err == unix.ESRCH {
		// Killed while stopped (SIGKILL wakes ptrace-stops): its exit
		// is reported by wait4 like any other.
		return nil
	}
	if err != nil {
		return fmt.Errorf("resume thread %d: %w", t.Tid, err)
	}
	return nil
}

// cont restarts the thread, stopping at the next syscall exit if one is
// awaited.
func (t *Thread) cont(sig unix.Signal) error {
	if t.wantExit {
		return ptraceSyscall(t.Tid, sig)
	}
	return ptraceCont(t.Tid, sig)
}

func (t *Thread) resumeSyscall(a Action) error {
	if t.injected {
		return t.resumeAfterInject(a)
	}
	if a.kind == actContinue || a.kind == actTraceExit {
		if ret, refuse := t.tr.guardCall(t); refuse {
			return t.refuse(a, ret)
		}
	}
	switch a.kind {
	case actInterrupt:
		// Skip the call, then give it the code at its exit, where the
		// kernel still sees it as a syscall (orig_rax >= 0) and applies
		// its restart rules on the way out.
		if err := pokeNoSyscall(t.Tid); err != nil {
			return err
		}
		if err := t.runToExit(); err != nil {
			if err == ErrThreadGone {
				return nil // its end is reported by the main loop
			}
			return err
		}
		return t.interruptAtExit(a.ret)
	case actEmulate:
		if err := t.emulateResult(a.ret); err != nil {
			return err
		}
		return ptraceCont(t.Tid, 0)
	case actTraceExit:
		t.wantExit = true
	}
	if t.call.modified() {
		var regs unix.PtraceRegs
		if err := ptraceGetRegs(t.Tid, &regs); err != nil {
			return err
		}
		setCallRegs(&regs, t.call.Arch, t.call.Nr, t.call.Args)
		if err := ptraceSetRegs(t.Tid, &regs); err != nil {
			return err
		}
	}
	t.restoreAtExit(a)
	return t.cont(0)
}

// restoreAtExit arranges for the guest's argument registers to be put
// back at the exit of a call that runs with other arguments, stopping
// there if the tool did not ask to.
func (t *Thread) restoreAtExit(a Action) {
	if !t.call.displaced() {
		return
	}
	t.restoreArgs = true
	if a.kind != actTraceExit {
		t.wantExit = true
		t.silentExit = true
	}
}

// emulateResult skips the call at its entry stop: the guest sees ret, and
// its argument registers as it passed them.
func (t *Thread) emulateResult(ret int64) error {
	if t.call.entryArgs == t.call.origArgs {
		// Skipping a call with nr -1 leaves rax as the tracer set it
		// (Documentation/userspace-api/seccomp_filter.rst).
		if err := pokeNoSyscall(t.Tid); err != nil {
			return err
		}
		return pokeRet(t.Tid, uint64(ret))
	}
	var regs unix.PtraceRegs
	if err := ptraceGetRegs(t.Tid, &regs); err != nil {
		return err
	}
	setArgRegs(&regs, t.call.Arch, t.call.origArgs)
	setNoSyscall(&regs)
	setRet(&regs, uint64(ret))
	return ptraceSetRegs(t.Tid, &regs)
}

// putBackArgs restores the guest's argument registers at a call's exit
// stop (see restoreAtExit).
func (t *Thread) putBackArgs() error {
	t.restoreArgs = false
	var regs unix.PtraceRegs
	if err := ptraceGetRegs(t.Tid, &regs); err != nil {
		return err
	}
	setArgRegs(&regs, t.call.Arch, t.call.origArgs)
	return ptraceSetRegs(t.Tid, &regs)
}

// ErrNotAtSyscall is returned by Inject outside a syscall entry stop.
var ErrNotAtSyscall = errors.New("thread is not stopped at a syscall entry")

// ErrThreadGone is returned when a thread died during an operation.
var ErrThreadGone = errors.New("thread exited")

// Inject makes t execute the syscall nr(args...) now, in its own context,
// and returns its raw result. t must be stopped at a syscall entry (inside
// SyscallEnter, or held there). The original call is not lost: when t is
// resumed with Continue or TraceExit it is re-issued (costing one more
// stop, not reported to the tool again); with Emulate it is skipped.
func (t *Thread) Inject(nr int, args ...uint64) (int64, error) {
	if t.stop != stopSeccomp {
		return 0, ErrNotAtSyscall
	}
	if len(args) > 6 {
		return 0, fmt.Errorf("inject %d: %d arguments, at most 6", nr, len(args))
	}
	if !t.injected {
		if err := ptraceGetRegs(t.Tid, &t.saved); err != nil {
			return 0, fmt.Errorf("inject: %w", err)
		}
	}
	var a [6]uint64
	copy(a[:], args)
	regs := t.saved
	if t.injected {
		// Already at a syscall exit: step back onto the instruction.
		regs.SetPC(regs.PC() - syscallInsnLen)
	}
	setSyscallRegs(&regs, nr, a)
	if err := ptraceSetRegs(t.Tid, &regs); err != nil {
		return 0, fmt.Errorf("inject: %w", err)
	}
	t.injected = true
	if err := t.runToExit(); err != nil {
		return 0, err
	}
	if err := ptraceGetRegs(t.Tid, &regs); err != nil {
		return 0, fmt.Errorf("inject: %w", err)
	}
	return int64(ret(&regs)), nil
}

// runToExit resumes t with PTRACE_SYSCALL until the exit of the syscall it
// is about to execute. Entry and seccomp stops on the way are passed over.
// Anything else that t reports meanwhile (a fatal signal, its death) is
// handed to the main loop and the injection fails.
func (t *Thread) runToExit() error {
	var ws unix.WaitStatus
	var info syscallInfo
	for {
		if err := ptraceSyscall(t.Tid, 0); err != nil {
			return fmt.Errorf("inject: %w", err)
		}
		if _, err := wait4(t.Tid, &ws, 0); err != nil {
			return fmt.Errorf("inject: wait: %w", err)
		}
		switch {
		case decodeStatus(ws).syscallStop():
			if err := ptraceGetSyscallInfo(t.Tid, &info); err != nil {
				return fmt.Errorf("inject: %w", err)
			}
			if info.Op == syscallInfoExit {
				return nil
			}
		case decodeStatus(ws).eventStop(unix.PTRACE_EVENT_SECCOMP):
		default:
			t.tr.deferred = append(t.tr.deferred, waitEvent{tid: t.Tid, ws: ws})
			t.stop = stopRunning
			t.injected = false
			return ErrThreadGone
		}
	}
}

// interruptAtExit resumes t from the exit of its current syscall with
// the original call in its registers and ret as its result (Interrupt).
func (t *Thread) interruptAtExit(ret int64) error {
	if err := t.setInterrupted(ret); err != nil {
		return err
	}
	t.wantExit = false
	return ptraceCont(t.Tid, 0)
}

// JoinGroupStop makes t, held while another thread of its process has
// entered a group-stop, enter that stop now, and waits until it has: t is
// then held in the group-stop (Tool.GroupStop is not called for it), and
// a tool resumes it once a SIGCONT has ended the stop. A syscall t is held
// in (at its entry or exit) ends with ERESTARTNOINTR, so that the kernel
// restarts it after the stop. Threads held at breakpoints are refused.
func (t *Thread) JoinGroupStop() error {
	if !t.held {
		return ErrNotHeld
	}
	var err error
	switch t.stop {
	case stopGroup:
		return nil
	case stopSeccomp:
		if t.injected {
			return errors.New("join group-stop: an injected call is in progress")
		}
		if err = pokeNoSyscall(t.Tid); err == nil {
			if err = t.runToExit(); err == nil {
				err = t.setInterrupted(-ERestartNoIntr)
			}
		}
	case stopSyscallExit:
		err = t.setInterrupted(-ERestartNoIntr)
	case stopSignal, stopEvent:
	default:
		return fmt.Errorf("join group-stop: thread %d is at a breakpoint or exiting", t.Tid)
	}
	if err == nil {
		err = ptraceCont(t.Tid, t.sig)
	}
	t.stop, t.sig, t.held, t.wantExit = stopRunning, 0, false, false
	if err != nil {
		return fmt.Errorf("join group-stop: %w", err)
	}
	var ws unix.WaitStatus
	if _, err := wait4(t.Tid, &ws, 0); err != nil {
		return fmt.Errorf("join group-stop: wait: %w", err)
	}
	if decodeStatus(ws).groupStop() {
		t.stop, t.groupStopped, t.held = stopGroup, true, true
		return nil
	}
	t.deferStop(ws)
	return fmt.Errorf("join group-stop: thread %d stopped otherwise (status %#x)", t.Tid, uint32(ws))
}

// setInterrupted loads t, at a syscall exit, with its original call and
// the raw result ret, as Interrupt does, without resuming it.
func (t *Thread) setInterrupted(ret int64) error {
	var regs unix.PtraceRegs
	if err := ptraceGetRegs(t.Tid, &regs); err != nil {
		return err
	}
	setSyscallRegs(&regs, t.call.origNr, t.call.origArgs)
	setRet(&regs, uint64(ret))
	return ptraceSetRegs(t.Tid, &regs)
}

func (t *Thread) resumeAfterInject(a Action) error {
	t.injected = false
	regs := t.saved
	switch a.kind {
	case actInterrupt:
		// t is at the exit of the injected call: make it the original's.
		setSyscallRegs(&regs, t.call.origNr, t.call.origArgs)
		setRet(&regs, uint64(a.ret))
		if err := ptraceSetRegs(t.Tid, &regs); err != nil {
			return err
		}
		return ptraceCont(t.Tid, 0)
	case actEmulate:
		// t is at the exit of the injected call; just set the result.
		setRet(&regs, uint64(a.ret))
		if err := ptraceSetRegs(t.Tid, &regs); err != nil {
			return err
		}
		return t.cont(0)
	default:
		// Re-issue the original (possibly modified) call.
		regs.SetPC(regs.PC() - syscallInsnLen)
		setCallRegs(&regs, t.call.Arch, t.call.Nr, t.call.Args)
		if err := ptraceSetRegs(t.Tid, &regs); err != nil {
			return err
		}
		if t.tr.sub.Has(t.call.Nr) {
			// The re-issued call stops at seccomp again; apply a
			// there without asking the tool twice.
			t.reentry = true
			t.reAction = a
			return ptraceCont(t.Tid, 0)
		}
		if a.kind == actTraceExit {
			t.wantExit = true
		}
		t.restoreAtExit(a)
		return t.cont(0)
	}
}

// Regs returns t's registers. t must be stopped. At a breakpoint rip is
// the breakpoint's address.
func (t *Thread) Regs() (unix.PtraceRegs, error) {
	var regs unix.PtraceRegs
	if t.stop == stopRunning {
		return regs, errors.New("thread is running")
	}
	if t.stop == stopBreakpoint {
		return t.bpRegs, nil // rip at the breakpoint
	}
	err := ptraceGetRegs(t.Tid, &regs)
	return regs, err
}

// SetRegs replaces t's registers. t must be stopped, outside a syscall
// entry (use Syscall's fields and Action there). At a breakpoint, moving
// rip elsewhere makes the thread resume there without executing the
// instruction at the breakpoint.
func (t *Thread) SetRegs(regs *unix.PtraceRegs) error {
	if t.stop == stopRunning {
		return errors.New("thread is running")
	}
	if err := ptraceSetRegs(t.Tid, regs); err != nil {
		return err
	}
	if t.stop == stopBreakpoint {
		t.bpRegs, t.bpSynced = *regs, true
	}
	return nil
}

// Restart arranges for t, held at the exit of a syscall, to execute the
// same syscall again (with the arguments the guest passed originally)
// when it is resumed: the next stop is a fresh syscall entry. Schedulers
// use it to retry a call made non-blocking once it may succeed.
func (t *Thread) Restart() error {
	return t.reissue(t.call.origNr, t.call.origArgs)
}

// RestartWith is Restart with another call: t, held at the exit of a
// syscall, executes nr(args...) when resumed, through the same ABI. Its
// entry stop reaches the tool as a fresh syscall entry whose OrigArgs
// are still those of the guest's original call, and the guest's argument
// registers are put back at its exit. Schedulers use it to carry on with
// the rest of a transfer the kernel did in part (a write split at the
// points where it would have blocked).
func (t *Thread) RestartWith(nr int, args [6]uint64) error {
	return t.reissue(nr, args)
}

func (t *Thread) reissue(nr int, args [6]uint64) error {
	if t.stop != stopSyscallExit {
		return errors.New("thread is not at a syscall exit")
	}
	var regs unix.PtraceRegs
	if err := ptraceGetRegs(t.Tid, &regs); err != nil {
		return fmt.Errorf("restart: %w", err)
	}
	t.keep = &keptCall{nr: nr, ip: regs.PC(), origNr: t.call.origNr, origArgs: t.call.origArgs}
	regs.SetPC(regs.PC() - syscallInsnLen)
	setCallRegs(&regs, t.call.Arch, nr, args)
	if err := ptraceSetRegs(t.Tid, &regs); err != nil {
		t.keep = nil
		return fmt.Errorf("restart: %w", err)
	}
	return nil
}

// keptCall is the guest's call a RestartWith re-issues another for: the
// re-issued call's entry is recognized by its number and address.
type keptCall struct {
	nr       int
	ip       uint64
	origNr   int
	origArgs [6]uint64
}

// applyKeep gives c, at an entry stop, the guest's original call if c is
// the one a RestartWith re-issued. A call made in between (a signal
// handler's) drops it: the original is lost rather than misattributed.
func (t *Thread) applyKeep(c *Syscall) {
	k := t.keep
	t.keep = nil
	if k != nil && c.Nr == k.nr && c.IP == k.ip {
		c.origNr, c.origArgs = k.origNr, k.origArgs
	}
}
