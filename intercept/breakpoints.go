package intercept

import (
	"errors"
	"fmt"
	"sort"

	"golang.org/x/sys/unix"
)

// Software breakpoints (int3). Breakpoints and watchpoints: see "Breakpoints and watchpoints" in the
// package doc for the design. Everything here runs on the tracer thread.

// breakpoints is the set of int3 breakpoints planted in one address space.
// Processes that share their address space (a vfork child and its parent)
// share the set; a fork child gets a copy, an exec a new empty one.
type breakpoints struct {
	m      map[uint64]*breakpoint
	shared bool // by more than one process (CLONE_VM)
	// gone holds the original byte of every breakpoint removed since the
	// address space began (cleared, or unmapped with its page). A trap
	// at one of them is ours all the same (see handleTrap): a thread
	// that executed the int3 before the removal may report it afterwards.
	gone map[uint64]byte
	// off holds the disabled breakpoints (DisableBreakpoint): their
	// original byte is back in memory, and their address is in gone too
	// (a trap reported late is rewound like a removed breakpoint's).
	off map[uint64]*breakpoint
}

type breakpoint struct {
	orig byte // the byte the int3 replaced
	insn insn // the original instruction, decoded at planting
}

func newBreakpoints() *breakpoints {
	return &breakpoints{m: map[uint64]*breakpoint{}, gone: map[uint64]byte{}, off: map[uint64]*breakpoint{}}
}

// copy is the set a fork child starts with: its text is a copy-on-write
// copy of the parent's, int3 bytes included.
func (b *breakpoints) copy() *breakpoints {
	c := newBreakpoints()
	for a, bp := range b.m {
		c.m[a] = &breakpoint{orig: bp.orig, insn: bp.insn}
	}
	for a, o := range b.gone {
		c.gone[a] = o
	}
	for a, bp := range b.off {
		c.off[a] = &breakpoint{orig: bp.orig, insn: bp.insn}
	}
	return c
}

// Errors of the breakpoint and watchpoint calls.
var (
	// ErrNoBreakpoint is returned by ClearBreakpoint for an address
	// without one.
	ErrNoBreakpoint = errors.New("no breakpoint at this address")
	// ErrInt3 is returned by SetBreakpoint where the guest's own code
	// already has an int3: its trap could not be told from ours.
	ErrInt3 = errors.New("the instruction is already an int3")
	// ErrNoWatchSlot is returned by SetWatchpoint when all four debug
	// registers are in use.
	ErrNoWatchSlot = errors.New("no free debug register")
	// ErrProcessGone is returned for a process that has exited.
	ErrProcessGone = errors.New("process has exited")
	// ErrAtBreakpoint is returned by Step for a thread at one of its
	// process's breakpoints: the thread stays before it.
	ErrAtBreakpoint = errors.New("thread is at a breakpoint")
	// ErrStepStopped is returned by Step when the thread stopped for
	// another reason than the end of the step (a signal, its death).
	// That stop is handled as usual once the callback returns; the
	// thread must be left alone until then.
	ErrStepStopped = errors.New("thread stopped for another reason while stepping")
)

// SetBreakpoint plants a software breakpoint (int3) at addr, which must be
// the first byte of an instruction in p's address space; text is written
// through /proc/PID/mem, so read-only mappings are fine. Every thread
// that executes it calls Tool.Breakpoint first. Setting an existing
// breakpoint does nothing. The set is shared with processes that share
// p's memory (vfork), copied into fork children and emptied by execve.
// It may be called from any callback, whether p's threads are stopped or
// running.
func (p *Process) SetBreakpoint(addr uint64) error {
	if p.bps == nil {
		return ErrProcessGone
	}
	if p.bps.m[addr] != nil {
		return nil
	}
	if p.bps.off[addr] != nil {
		return p.EnableBreakpoint(addr)
	}
	var text [maxInsnLen]byte
	n, err := p.Mem.ReadAt(text[:], int64(addr))
	if n == 0 {
		if err == nil {
			err = ErrFault
		}
		return fmt.Errorf("breakpoint at %#x: %w", addr, err)
	}
	// Later bytes may hold other breakpoints: decode the original code.
	for i := 1; i < n; i++ {
		if o := p.bps.m[addr+uint64(i)]; o != nil {
			text[i] = o.orig
		}
	}
	if text[0] == int3 {
		return fmt.Errorf("breakpoint at %#x: %w", addr, ErrInt3)
	}
	if err := p.Mem.pokeText(addr, int3); err != nil {
		return fmt.Errorf("breakpoint at %#x: %w", addr, err)
	}
	p.bps.m[addr] = &breakpoint{orig: text[0], insn: decodeInsn(text[:n])}
	delete(p.bps.gone, addr)
	return nil
}

// ClearBreakpoint removes the breakpoint at addr, restoring the original
// byte. A thread held at it resumes by executing the original instruction.
// A breakpoint whose page is no longer mapped (the library was unloaded)
// went with it: it is forgotten, and what is mapped there later is left
// alone.
func (p *Process) ClearBreakpoint(addr uint64) error {
	if p.bps == nil {
		return ErrProcessGone
	}
	if bp := p.bps.off[addr]; bp != nil {
		delete(p.bps.off, addr) // its byte is in memory, its address in gone
		return nil
	}
	bp := p.bps.m[addr]
	if bp == nil {
		return fmt.Errorf("clear breakpoint at %#x: %w", addr, ErrNoBreakpoint)
	}
	if err := p.Mem.pokeText(addr, bp.orig); err != nil && !errors.Is(err, ErrFault) {
		return fmt.Errorf("clear breakpoint at %#x: %w", addr, err)
	}
	delete(p.bps.m, addr)
	p.bps.gone[addr] = bp.orig
	return nil
}

// DisableBreakpoint takes the int3 of the breakpoint at addr out of memory
// and keeps the breakpoint, decoded, for EnableBreakpoint to put back:
// until then no thread stops there, and a thread held at it resumes by
// executing the original instruction. Disabling a disabled breakpoint
// does nothing. It costs one write of the guest's memory, as enabling
// does: a tool that needs a breakpoint only some of the time (sched while
// a single thread can run) toggles it instead of clearing and planting
// it again.
func (p *Process) DisableBreakpoint(addr uint64) error {
	if p.bps == nil {
		return ErrProcessGone
	}
	if p.bps.off[addr] != nil {
		return nil
	}
	bp := p.bps.m[addr]
	if bp == nil {
		return fmt.Errorf("disable breakpoint at %#x: %w", addr, ErrNoBreakpoint)
	}
	if err := p.Mem.pokeText(addr, bp.orig); err != nil {
		return fmt.Errorf("disable breakpoint at %#x: %w", addr, err)
	}
	delete(p.bps.m, addr)
	p.bps.off[addr] = bp
	p.bps.gone[addr] = bp.orig
	return nil
}

// EnableBreakpoint puts back the int3 of a breakpoint DisableBreakpoint
// took out. Enabling an enabled breakpoint does nothing.
func (p *Process) EnableBreakpoint(addr uint64) error {
	if p.bps == nil {
		return ErrProcessGone
	}
	if p.bps.m[addr] != nil {
		return nil
	}
	bp := p.bps.off[addr]
	if bp == nil {
		return fmt.Errorf("enable breakpoint at %#x: %w", addr, ErrNoBreakpoint)
	}
	if err := p.Mem.pokeText(addr, int3); err != nil {
		return fmt.Errorf("enable breakpoint at %#x: %w", addr, err)
	}
	delete(p.bps.off, addr)
	delete(p.bps.gone, addr)
	p.bps.m[addr] = bp
	return nil
}

// SharesBreakpoints reports whether p shares its address space, and so
// its breakpoints, with another process (a vfork child and its parent).
func (p *Process) SharesBreakpoints() bool {
	return p.bps != nil && p.bps.shared
}

// Breakpoints returns the addresses of p's breakpoints in increasing order.
func (p *Process) Breakpoints() []uint64 {
	if p.bps == nil {
		return nil
	}
	as := make([]uint64, 0, len(p.bps.m))
	for a := range p.bps.m {
		as = append(as, a)
	}
	sort.Slice(as, func(i, j int) bool { return as[i] < as[j] })
	return as
}

// resetPoints forgets p's breakpoints and watchpoints after an execve,
// which gave it a new image and cleared the debug registers of its one
// thread t.
func (p *Process) resetPoints(t *Thread) {
	p.bps = newBreakpoints()
	p.watch = watchpoints{gen: p.watch.gen + 1}
	t.drGen, t.dr7, t.drAddr = p.watch.gen, 0, [NumWatchSlots]uint64{}
}

// AtBreakpoint reports whether t is stopped at one of its process's
// breakpoints (in Tool.Breakpoint, or held there) and at which address.
func (t *Thread) AtBreakpoint() (uint64, bool) {
	if t.stop != stopBreakpoint {
		return 0, false
	}
	return t.bpAddr, true
}

// undoStaleTrap handles the trap of a thread that executed the int3 of a
// breakpoint that has been removed since (at addr; orig its original
// byte): the thread goes back to addr and runs what is there now. If the
// page is gone, it faults there as it would have natively. If an int3 is
// still there, it is one of ours that the table lost: orig goes back.
func (t *Thread) undoStaleTrap(addr uint64, orig byte) error {
	var b [1]byte
	if _, err := t.Proc.Mem.ReadAt(b[:], int64(addr)); err == nil && b[0] == int3 {
		if err := t.Proc.Mem.pokeText(addr, orig); err != nil {
			return fmt.Errorf("restore the byte under a lost breakpoint at %#x: %w", addr, err)
		}
	}
	t.stop = stopSignal
	t.sig = 0
	if err := pokePC(t.Tid, addr); err != nil {
		return ignoreGone(err, "rewind %d", t.Tid)
	}
	return t.resume(Continue())
}

func (tr *Tracer) breakpointHit(t *Thread, addr uint64, regs *unix.PtraceRegs) error {
	t.stop = stopBreakpoint
	t.sig = 0
	t.bpAddr = addr
	regs.SetPC(addr)
	t.bpRegs = *regs
	t.bpSynced = false // the kernel's rip is still past the int3
	a := tr.tool.Breakpoint(t, addr)
	if t.stop == stopRunning {
		return nil // held and resumed during the callback
	}
	if a.kind == actHold || t.held {
		t.held = true
		return nil
	}
	return t.resume(Continue())
}

// resumeBreakpoint resumes t from a breakpoint stop: it executes the
// original instruction at the breakpoint and lets t run on.
//
// Emulated instructions (see decodeInsn) cost nothing more: the registers
// are set as the instruction would have left them. Others are stepped in
// place: the original byte goes back, t alone runs the one instruction
// (PTRACE_SINGLESTEP, or PTRACE_SYSCALL up to the entry of a syscall
// instruction) while the tracer waits for t only, and the int3 goes back
// before anything else happens. Stops of t other than the end of the
// step (a signal, a fault, its death) are re-armed and handed to the main
// loop.
func (t *Thread) resumeBreakpoint() error {
	addr := t.bpAddr
	bp := t.Proc.bps.m[addr]
	regs := &t.bpRegs
	if bp == nil || regs.PC() != addr {
		// Cleared meanwhile, or the tool moved the thread elsewhere.
		if !t.bpSynced {
			if err := pokePC(t.Tid, regs.PC()); err != nil {
				return err
			}
		}
		return t.cont(0)
	}
	if bp.insn.kind != insnStep && bp.insn.kind != insnSyscall {
		if ok, err := t.emulate(bp.insn); ok || err != nil {
			return err
		}
	}
	if !t.bpSynced {
		if err := pokePC(t.Tid, addr); err != nil {
			return err
		}
	}
	return t.stepOver(addr, bp)
}

// emulate resumes t past the emulated instruction in. It returns false
// (nothing done) when the instruction must be stepped instead: a memory
// access the guest could not make (the real instruction faults, or grows
// the stack), one a watchpoint must see, or a load while another thread
// may be running (process_vm_readv is not an atomic load).
func (t *Thread) emulate(in insn) (bool, error) {
	regs := t.bpRegs
	if !in.emulate(&regs, threadMemory{t}) {
		return false, nil
	}
	var err error
	if in.kind == insnNop {
		err = pokePC(t.Tid, regs.PC())
	} else {
		err = ptraceSetRegs(t.Tid, &regs)
	}
	if err != nil {
		return true, err
	}
	return true, t.cont(0)
}

// threadMemory is the guestMemory of an emulated instruction of t.
type threadMemory struct{ t *Thread }

func (m threadMemory) store(addr, v uint64) bool {
	p := m.t.Proc
	return !p.watches(addr, 8, false) && p.Mem.writeUnforced(addr, v) == nil
}

func (m threadMemory) load(addr uint64, n int) (uint64, bool) {
	p := m.t.Proc
	if p.watches(addr, uint64(n), true) || m.t.tr.othersMayRun(m.t) {
		return 0, false
	}
	v, err := p.Mem.readUnforced(addr, n)
	return v, err == nil
}
