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
		if t.int3Gone(addr) {
			// An int3 that is no longer there: one of ours, taken
			// out after the thread hit it and before its trap was
			// reported (through another view of shared memory, a
			// vfork child's or parent's). The guest's own int3
			// would still be in its code. Run the instruction.
			t.stop = stopSignal
			t.sig = 0
			if err := pokePC(t.Tid, addr); err != nil {
				return true, ignoreGone(err, "rewind %d", t.Tid)
			}
			return true, t.resume(Continue())
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
		if (t.stepped || tr.stepped) && si.Code != trapHWBkpt {
			// The report of a single-step of ours (or of the syscall
			// exit after one) that reached the main loop: the
			// instruction has run, let the thread go on. Any
			// thread's, once the tracer has stepped one: an exec or
			// a thread's reuse may have carried the step's report
			// past the thread that was stepped, and a guest that
			// single-steps itself under schedfuzz does not exist
			// (it cannot be traced twice).
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

// int3Gone reports whether the int3 a thread trapped on at addr is no
// longer in memory: the byte there is not 0xCC (and addr-1 does not start
// an `int $3`, CD 03, whose trap reports the same way).
func (t *Thread) int3Gone(addr uint64) bool {
	var b [2]byte
	if _, err := t.Proc.Mem.ReadAt(b[:], int64(addr-1)); err != nil {
		return false
	}
	return b[1] != int3 && !(b[0] == 0xcd && b[1] == 0x03)
}
