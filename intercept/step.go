package intercept

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// Single-stepping: Thread.Step for tools, and the step over a breakpoint's
// original instruction.

// Step makes t, stopped at a signal (in Tool.Signal for a signal it
// suppresses, or in Tool.CPUTick), execute exactly one instruction, and
// returns its new rip. It does not execute a breakpoint of t's process: at
// one, it returns its address and ErrAtBreakpoint. It is how a tool finds
// where a thread loops.
//
// With the trap flag set the CPU runs at most one instruction before it
// traps, so any stop that ends a step comes after one instruction or
// none. A stop of the tracer's own that comes before the instruction ran
// (a CPU tick, a SIGSTOP of StopThread, an interrupt of pauseOthers still
// pending) is passed over and the step made again; a `syscall` of a call
// the seccomp filter lets through is stepped whole (the kernel reports
// the step at its exit, as TRAP_BRKPT). Any other stop (a signal for the
// guest, a subscribed syscall's entry, a watchpoint, the thread's death)
// is handed to the main loop, which handles it as usual once the callback
// returns: ErrStepStopped, and the thread must be left alone until then.
func (t *Thread) Step() (uint64, error) {
	if t.stop != stopSignal {
		return 0, errors.New("step: thread is not stopped at a signal")
	}
	var regs unix.PtraceRegs
	if err := ptraceGetRegs(t.Tid, &regs); err != nil {
		return 0, fmt.Errorf("step: %w", err)
	}
	if t.Proc.bps.m[regs.PC()] != nil {
		return regs.PC(), ErrAtBreakpoint
	}
	from := regs.PC()
	for {
		t.stepped, t.tr.stepped = true, true
		if err := ptraceSingleStep(t.Tid); err != nil {
			return 0, fmt.Errorf("step: %w", err)
		}
		var ws unix.WaitStatus
		if _, err := wait4(t.Tid, &ws, 0); err != nil {
			return 0, fmt.Errorf("step: wait: %w", err)
		}
		t.tr.result.Stops++
		again, err := t.stepEnded(ws)
		if err != nil {
			t.stop = stopRunning
			t.deferStop(ws)
			return 0, err
		}
		if err := ptraceGetRegs(t.Tid, &regs); err != nil {
			return 0, fmt.Errorf("step: %w", err)
		}
		if !again || regs.PC() != from {
			return regs.PC(), nil
		}
	}
}

// stepEnded classifies the stop ws that ended a step of t: the report of
// the step (false, nil), a stop of the tracer's own that may have come
// before the instruction ran (true, nil: t is back in a signal stop with
// nothing to deliver), or another stop (ErrStepStopped).
func (t *Thread) stepEnded(ws unix.WaitStatus) (again bool, err error) {
	st := decodeStatus(ws)
	if !st.stopped {
		return false, ErrStepStopped
	}
	switch {
	case st.interruptStop() && t.interrupted:
		t.interrupted = false
		return true, nil
	case st.event != 0:
		return false, ErrStepStopped
	case st.signalStop(unix.SIGTRAP):
		var si unix.Siginfo
		if err := ptraceGetSiginfo(t.Tid, &si); err == nil && (si.Code == trapTrace || si.Code == trapBrkpt) {
			if !t.Proc.watch.active() {
				return false, nil
			}
			// The instruction may have hit a watchpoint too: a point,
			// for the main loop to report from this same stop.
			if hits, err := t.watchHits(); err == nil && hits == 0 {
				return false, nil
			}
		}
	case t.ownStop(ws):
		return true, nil
	}
	return false, ErrStepStopped
}

// stepOver runs the original instruction at addr in t, which is stopped
// there with rip == addr, and resumes it. Threads that could run guest code
// in the same address space meanwhile are paused for the duration.
func (t *Thread) stepOver(addr uint64, bp *breakpoint) error {
	paused, err := t.tr.pauseOthers(t)
	if err == nil {
		err = t.stepOverAlone(addr, bp)
	}
	if uerr := t.tr.unpause(paused); err == nil {
		err = uerr
	}
	return err
}

func (t *Thread) stepOverAlone(addr uint64, bp *breakpoint) error {
	tr := t.tr
	mem := t.Proc.Mem
	if err := mem.pokeText(addr, bp.orig); err != nil {
		return fmt.Errorf("step over breakpoint at %#x: %w", addr, err)
	}
	var ws unix.WaitStatus
	ran := false
	for {
		var err error
		if bp.insn.kind == insnSyscall {
			err = ptraceSyscall(t.Tid, 0)
		} else {
			t.stepped, t.tr.stepped = true, true
			err = ptraceSingleStep(t.Tid)
		}
		if err != nil {
			mem.pokeText(addr, int3)
			return ignoreGone(err, "step over breakpoint at %#x", addr)
		}
		if _, err := wait4(t.Tid, &ws, 0); err != nil {
			return fmt.Errorf("step over breakpoint at %#x: wait: %w", addr, err)
		}
		tr.result.Stops++
		// An interrupt that pauseOthers sent while t was entering the
		// stop of this breakpoint stayed pending, or a stop of the
		// tracer's own (a CPU tick, a tool's StopThread) came, and
		// stopped the step before the instruction: step again. (A
		// signal for the guest goes to the main loop, and t comes back
		// to the breakpoint after it.)
		if decodeStatus(ws).interruptStop() {
			t.interrupted = false
			continue
		}
		if !t.ownStop(ws) {
			break
		}
		var regs unix.PtraceRegs
		if err := ptraceGetRegs(t.Tid, &regs); err != nil || regs.PC() != addr {
			// It ran (or the thread is gone): the instruction is
			// behind t, and the stop is passed over.
			ran = true
			break
		}
	}
	// Re-arm first: from here on t may do anything.
	rearm := func() error {
		if t.Proc.bps.m[addr] != bp {
			return nil
		}
		if err := mem.pokeText(addr, int3); err != nil && !(ws.Exited() || ws.Signaled()) {
			return fmt.Errorf("re-insert breakpoint at %#x: %w", addr, err)
		}
		return nil
	}
	if err := rearm(); err != nil {
		return err
	}
	if ran {
		return t.cont(0)
	}
	st := decodeStatus(ws)
	if !st.stopped || st.event != 0 {
		return t.deferStop(ws)
	}
	switch st.sig {
	case unix.SIGTRAP | 0x80:
		if bp.insn.kind == insnSyscall {
			// The syscall-entry stop of the stepped `syscall`: the
			// instruction is behind t. Its seccomp stop, if any, comes
			// next like any other.
			return t.cont(0)
		}
	case unix.SIGTRAP:
		if bp.insn.kind == insnSyscall {
			break
		}
		var si unix.Siginfo
		if err := ptraceGetSiginfo(t.Tid, &si); err != nil {
			return ignoreGone(err, "siginfo of %d", t.Tid)
		}
		if si.Code != trapTrace && si.Code != trapBrkpt {
			break
		}
		if t.Proc.watch.active() {
			// The instruction may have hit a watchpoint too: the
			// main loop reports it from this same stop.
			hits, err := t.watchHits()
			if err != nil {
				return ignoreGone(err, "debug status of %d", t.Tid)
			}
			if hits != 0 {
				return t.deferStop(ws)
			}
		}
		return t.cont(0)
	}
	return t.deferStop(ws)
}
