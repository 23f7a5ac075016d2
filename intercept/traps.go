package intercept

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// SIGTRAP: telling the tracer's traps from the guest's own.

// handleTrap looks at a SIGTRAP signal-delivery-stop. It reports (true)
// a hit of a planted breakpoint or a watchpoint, undoes the trap of a
// breakpoint removed meanwhile and the report of a single-step of ours,
// and leaves (false) any other SIGTRAP to be delivered as the guest's own.
// A guest never sees a trap of ours.
func (tr *Tracer) handleTrap(t *Thread, si *unix.Siginfo) (bool, error) {
	p := t.Proc
	switch si.Code {
	case siKernel:
		if len(p.bps.m) == 0 && len(p.bps.gone) == 0 {
			return false, nil
		}
		var regs unix.PtraceRegs
		if err := ptraceGetRegs(t.Tid, &regs); err != nil {
			return true, ignoreGone(err, "registers of %d", t.Tid)
		}
		addr := regs.PC() - int3Len
		if p.bps.m[addr] != nil {
			return true, tr.breakpointHit(t, addr, &regs)
		}
		if orig, ok := p.bps.gone[addr]; ok {
			return true, t.undoStaleTrap(addr, orig)
		}
	case trapHWBkpt, trapTrace, trapBrkpt:
		// A watchpoint, or a watchpoint that coincided with a step.
		if p.watch.active() {
			hits, err := t.watchHits()
			if err != nil {
				return true, ignoreGone(err, "debug status of %d", t.Tid)
			}
			if hits != 0 {
				return true, tr.watchpointHit(t, hits)
			}
		}
		if t.stepped && si.Code != trapHWBkpt {
			// The report of a single-step of ours (or of the syscall
			// exit after one) that reached the main loop: the
			// instruction has run, let the thread go on.
			t.stop = stopSignal
			t.sig = 0
			return true, t.resume(Continue())
		}
	}
	return false, nil
}

func ignoreGone(err error, format string, args ...any) error {
	if err == unix.ESRCH {
		return nil // killed meanwhile: wait4 reports it
	}
	return fmt.Errorf(format+": %w", append(args, err)...)
}
