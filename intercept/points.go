package intercept

import (
	"errors"
	"fmt"
	"sort"

	"golang.org/x/sys/unix"
)

// Breakpoints and watchpoints: see "Breakpoints and watchpoints" in the
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
}

type breakpoint struct {
	orig byte // the byte the int3 replaced
	insn insn // the original instruction, decoded at planting
}

func newBreakpoints() *breakpoints {
	return &breakpoints{m: map[uint64]*breakpoint{}, gone: map[uint64]byte{}}
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
	if t.Proc.bps.m[regs.Rip] != nil {
		return regs.Rip, ErrAtBreakpoint
	}
	from := regs.Rip
	for {
		t.stepped = true
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
		if !again || regs.Rip != from {
			return regs.Rip, nil
		}
	}
}

// stepEnded classifies the stop ws that ended a step of t: the report of
// the step (false, nil), a stop of the tracer's own that may have come
// before the instruction ran (true, nil: t is back in a signal stop with
// nothing to deliver), or another stop (ErrStepStopped).
func (t *Thread) stepEnded(ws unix.WaitStatus) (again bool, err error) {
	if !ws.Stopped() {
		return false, ErrStepStopped
	}
	event := int(ws>>16) & 0xff
	switch {
	case event == unix.PTRACE_EVENT_STOP && ws.StopSignal() == unix.SIGTRAP && t.interrupted:
		t.interrupted = false
		return true, nil
	case event != 0:
		return false, ErrStepStopped
	case ws.StopSignal() == unix.SIGTRAP:
		var si unix.Siginfo
		if err := ptraceGetSiginfo(t.Tid, &si); err == nil && (si.Code == trapTrace || si.Code == trapBrkpt) {
			if !t.Proc.watch.active() {
				return false, nil
			}
			// The instruction may have hit a watchpoint too: a point,
			// for the main loop to report from this same stop.
			dr6, err := ptracePeekUser(t.Tid, offDR6)
			if err == nil && dr6Hits(dr6)&dr7Enabled(t.Proc.watch.dr7) == 0 {
				return false, nil
			}
		}
	case t.ownStop(ws):
		return true, nil
	}
	return false, ErrStepStopped
}

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

// WatchKind is what a hardware watchpoint triggers on.
type WatchKind uint8

const (
	// WatchWrite triggers after an instruction writes the watched bytes.
	WatchWrite WatchKind = iota + 1
	// WatchReadWrite triggers after an instruction reads or writes them
	// (x86 has no read-only watchpoint).
	WatchReadWrite
	// WatchExec triggers before the instruction at the address executes:
	// a hardware breakpoint. Length must be 1. Unlike SetBreakpoint it
	// leaves the text untouched and needs no step-over.
	WatchExec
)

func (k WatchKind) String() string {
	switch k {
	case WatchWrite:
		return "write"
	case WatchReadWrite:
		return "readwrite"
	case WatchExec:
		return "exec"
	}
	return fmt.Sprintf("watchkind(%d)", uint8(k))
}

// Watchpoint is one debug-register watchpoint of a process. Len is 0 for
// a free slot.
type Watchpoint struct {
	Addr uint64
	Len  int
	Kind WatchKind
}

// watchpoints is the debug-register state a process wants on every one of
// its threads. gen changes with every change; each thread applies it
// before it next runs (Thread.syncDebugRegs).
type watchpoints struct {
	slots [NumWatchSlots]Watchpoint
	gen   uint64
	dr7   uint64
}

// SetWatchpoint watches length bytes at addr (length 1, 2, 4 or 8, addr a
// multiple of length) in every thread of p, and returns the debug-register
// slot (0-3) used. Each access of the given kind calls Tool.Watchpoint.
// Threads that are stopped get the watchpoint at once; threads running at
// the time get it at their next stop (a tool that holds every other thread
// sees every access). Threads created later get it before they run; fork
// and vfork children inherit the parent's watchpoints; execve clears them.
func (p *Process) SetWatchpoint(addr uint64, length int, kind WatchKind) (int, error) {
	if p.bps == nil {
		return -1, ErrProcessGone
	}
	w := Watchpoint{Addr: addr, Len: length, Kind: kind}
	switch {
	case kind != WatchWrite && kind != WatchReadWrite && kind != WatchExec:
		return -1, fmt.Errorf("watchpoint at %#x: invalid kind %v", addr, kind)
	case length != 1 && length != 2 && length != 4 && length != 8:
		return -1, fmt.Errorf("watchpoint at %#x: length %d, want 1, 2, 4 or 8", addr, length)
	case kind == WatchExec && length != 1:
		return -1, fmt.Errorf("watchpoint at %#x: exec watchpoints have length 1", addr)
	case addr%uint64(length) != 0:
		return -1, fmt.Errorf("watchpoint at %#x: not aligned to its length %d", addr, length)
	case addr+uint64(length) > maxUserAddr:
		return -1, fmt.Errorf("watchpoint at %#x: not a user address", addr)
	}
	slot := -1
	for i, s := range p.watch.slots {
		if s.Len == 0 {
			slot = i
			break
		}
	}
	if slot < 0 {
		return -1, fmt.Errorf("watchpoint at %#x: %w", addr, ErrNoWatchSlot)
	}
	old := p.watch
	p.watch.slots[slot] = w
	p.watch.changed()
	if err := p.applyWatch(); err != nil {
		p.watch = old
		p.watch.changed()
		p.applyWatch()
		return -1, fmt.Errorf("watchpoint at %#x: %w", addr, err)
	}
	return slot, nil
}

// ClearWatchpoint frees a slot returned by SetWatchpoint.
func (p *Process) ClearWatchpoint(slot int) error {
	if p.bps == nil {
		return ErrProcessGone
	}
	if slot < 0 || slot >= NumWatchSlots || p.watch.slots[slot].Len == 0 {
		return fmt.Errorf("clear watchpoint: slot %d is not in use", slot)
	}
	p.watch.slots[slot] = Watchpoint{}
	p.watch.changed()
	return p.applyWatch()
}

// Watchpoints returns p's watchpoints by slot.
func (p *Process) Watchpoints() [NumWatchSlots]Watchpoint { return p.watch.slots }

func (w *watchpoints) changed() {
	w.gen++
	w.dr7 = 0
	for i, s := range w.slots {
		if s.Len != 0 {
			w.dr7 |= dr7Bits(i, s)
		}
	}
}

// active reports whether any slot is in use.
func (w *watchpoints) active() bool { return w.dr7 != 0 }

// applyWatch writes the watchpoints into every stopped thread of p; the
// others catch up at their next resume.
func (p *Process) applyWatch() error {
	for _, t := range p.threads {
		if t.stop == stopRunning {
			continue
		}
		if err := t.syncDebugRegs(); err != nil {
			return err
		}
	}
	return nil
}

// syncDebugRegs makes t's debug registers match its process's
// watchpoints. t must be in a ptrace-stop. The kernel gives a new thread
// (any clone) and an exec'd image no hardware breakpoints. (A new thread's
// DR7 still reads back its creator's value, a copied shadow with nothing
// behind it: t.dr7 and t.drAddr are what was written to this thread, and
// addresses are written before DR7 enables them.)
func (t *Thread) syncDebugRegs() error {
	w := &t.Proc.watch
	if t.drGen == w.gen {
		return nil
	}
	// Disable slots that change before moving their address: the kernel
	// checks an address against the length that is enabled.
	var changing uint64
	for i, s := range w.slots {
		if s.Len != 0 && s.Addr != t.drAddr[i] || t.dr7&dr7Slot(i) != w.dr7&dr7Slot(i) {
			changing |= dr7Slot(i)
		}
	}
	if t.dr7&changing != 0 {
		if err := t.pokeDR7(t.dr7 &^ changing); err != nil {
			return err
		}
	}
	for i, s := range w.slots {
		if s.Len != 0 && s.Addr != t.drAddr[i] {
			if err := ptracePokeUser(t.Tid, offDR(i), s.Addr); err != nil {
				if err == unix.ESRCH {
					return nil
				}
				return fmt.Errorf("set DR%d of thread %d: %w", i, t.Tid, err)
			}
			t.drAddr[i] = s.Addr
		}
	}
	if t.dr7 != w.dr7 {
		if err := t.pokeDR7(w.dr7); err != nil {
			return err
		}
	}
	t.drGen = w.gen
	return nil
}

func (t *Thread) pokeDR7(v uint64) error {
	if err := ptracePokeUser(t.Tid, offDR7, v); err != nil {
		if err == unix.ESRCH {
			return nil // dying; the exit is reported by wait4
		}
		return fmt.Errorf("set DR7 of thread %d: %w", t.Tid, err)
	}
	t.dr7 = v
	return nil
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
		addr := regs.Rip - int3Len
		if p.bps.m[addr] != nil {
			return true, tr.breakpointHit(t, addr, &regs)
		}
		if orig, ok := p.bps.gone[addr]; ok {
			return true, t.undoStaleTrap(addr, orig)
		}
	case trapHWBkpt, trapTrace, trapBrkpt:
		// A watchpoint, or a watchpoint that coincided with a step.
		if p.watch.active() {
			dr6, err := ptracePeekUser(t.Tid, offDR6)
			if err != nil {
				return true, ignoreGone(err, "DR6 of %d", t.Tid)
			}
			if hits := dr6Hits(dr6) & dr7Enabled(p.watch.dr7); hits != 0 {
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
	if err := ptracePokeUser(t.Tid, offRIP, addr); err != nil {
		return ignoreGone(err, "rewind %d", t.Tid)
	}
	return t.resume(Continue())
}

// dr7Enabled is the mask of slots DR7 enables.
func dr7Enabled(dr7 uint64) uint8 {
	var m uint8
	for i := 0; i < NumWatchSlots; i++ {
		if dr7&(3<<(2*i)) != 0 {
			m |= 1 << i
		}
	}
	return m
}

func ignoreGone(err error, format string, args ...any) error {
	if err == unix.ESRCH {
		return nil // killed meanwhile: wait4 reports it
	}
	return fmt.Errorf(format+": %w", append(args, err)...)
}

func (tr *Tracer) breakpointHit(t *Thread, addr uint64, regs *unix.PtraceRegs) error {
	t.stop = stopBreakpoint
	t.sig = 0
	t.bpAddr = addr
	regs.Rip = addr
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

func (tr *Tracer) watchpointHit(t *Thread, hits uint8) error {
	t.stop = stopSignal
	t.sig = 0 // the SIGTRAP is ours: never delivered
	hold := false
	for slot := 0; slot < NumWatchSlots; slot++ {
		if hits&(1<<slot) == 0 {
			continue
		}
		a := tr.tool.Watchpoint(t, slot, t.Proc.watch.slots[slot].Addr)
		if t.stop == stopRunning {
			return nil // held and resumed during the callback
		}
		hold = hold || a.kind == actHold
	}
	if hold || t.held {
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
	if bp == nil || regs.Rip != addr {
		// Cleared meanwhile, or the tool moved the thread elsewhere.
		if !t.bpSynced {
			if err := ptracePokeUser(t.Tid, offRIP, regs.Rip); err != nil {
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
		if err := ptracePokeUser(t.Tid, offRIP, addr); err != nil {
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
		err = ptracePokeUser(t.Tid, offRIP, regs.Rip)
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

// othersMayRun reports whether a thread other than t that shares its
// address space may be executing guest code (see pauseOthers).
func (tr *Tracer) othersMayRun(t *Thread) bool {
	for _, p := range tr.sharers(t.Proc) {
		for _, o := range p.threads {
			if o != t && o.mayRun() {
				return true
			}
		}
	}
	return false
}

// mayRun reports whether t may execute guest code before the tracer sees
// it stop: resumed with PTRACE_CONT, not frozen in vfork, not exiting.
// (A thread resumed with TraceExit stops at its syscall's exit first.)
func (t *Thread) mayRun() bool {
	return t.stop == stopRunning && !t.wantExit && !t.vforking && !t.exiting && !t.tr.hasDeferred(t.Tid)
}

// sharers returns the processes sharing p's address space, p included,
// ordered by pid.
func (tr *Tracer) sharers(p *Process) []*Process {
	if !p.bps.shared {
		return []*Process{p}
	}
	var ps []*Process
	for _, q := range tr.procs {
		if q.bps == p.bps {
			ps = append(ps, q)
		}
	}
	sort.Slice(ps, func(i, j int) bool { return ps[i].Pid < ps[j].Pid })
	return ps
}

// watches reports whether a data watchpoint that a write (or, if read,
// a read) of [addr, addr+n) triggers is set.
func (p *Process) watches(addr, n uint64, read bool) bool {
	for _, s := range p.watch.slots {
		if s.Len == 0 || s.Kind == WatchExec || read && s.Kind != WatchReadWrite {
			continue
		}
		if s.Addr < addr+n && addr < s.Addr+uint64(s.Len) {
			return true
		}
	}
	return false
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
			t.stepped = true
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
		if ws.Stopped() && int(ws>>16) == unix.PTRACE_EVENT_STOP && ws.StopSignal() == unix.SIGTRAP {
			t.interrupted = false
			continue
		}
		if !t.ownStop(ws) {
			break
		}
		var regs unix.PtraceRegs
		if err := ptraceGetRegs(t.Tid, &regs); err != nil || regs.Rip != addr {
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
	if !ws.Stopped() || int(ws>>16) != 0 {
		return t.deferStop(ws)
	}
	switch ws.StopSignal() {
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
			dr6, err := ptracePeekUser(t.Tid, offDR6)
			if err != nil {
				return ignoreGone(err, "DR6 of %d", t.Tid)
			}
			if dr6Hits(dr6)&dr7Enabled(t.Proc.watch.dr7) != 0 {
				return t.deferStop(ws)
			}
		}
		return t.cont(0)
	}
	return t.deferStop(ws)
}

// pauseOthers stops every thread other than t that shares t's address
// space and could execute guest code before its next ptrace-stop: those
// the tracer has resumed with PTRACE_CONT (held or stopped threads cannot
// run; a thread in a syscall resumed with TraceExit stops at its exit
// first; a vfork parent is frozen until the child execs or exits; an
// exiting thread runs no guest code). Each is interrupted
// (PTRACE_INTERRUPT) and waited for; one that reports another stop first
// is stopped too, and that stop goes to the main loop. It returns the
// threads stopped by the interrupt, for unpause.
func (tr *Tracer) pauseOthers(t *Thread) ([]*Thread, error) {
	var paused []*Thread
	for _, p := range tr.sharers(t.Proc) {
		for _, o := range p.threads {
			if o == t || !o.mayRun() {
				continue
			}
			var ws unix.WaitStatus
			// A stop already queued needs no interrupt (which would
			// then stay pending until its next stop).
			wpid, err := wait4(o.Tid, &ws, unix.WNOHANG)
			if err == nil && wpid == 0 {
				if err := ptraceInterrupt(o.Tid); err != nil {
					if err == unix.ESRCH {
						continue
					}
					return paused, fmt.Errorf("pause thread %d: %w", o.Tid, err)
				}
				// Set until its interrupt stop is seen, here or (if it
				// stays pending) in the main loop.
				o.interrupted = true
				wpid, err = wait4(o.Tid, &ws, 0)
			}
			if err != nil {
				return paused, fmt.Errorf("pause thread %d: wait: %w", o.Tid, err)
			}
			tr.result.Stops++
			if ws.Stopped() && int(ws>>16) == unix.PTRACE_EVENT_STOP && ws.StopSignal() == unix.SIGTRAP {
				o.stop = stopEvent
				o.interrupted = false
				paused = append(paused, o)
				continue
			}
			o.deferStop(ws)
		}
	}
	return paused, nil
}

// unpause resumes the threads pauseOthers stopped.
func (tr *Tracer) unpause(paused []*Thread) error {
	var first error
	for _, o := range paused {
		o.expectRestart()
		if err := o.resume(Continue()); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// Return values with which the kernel restarts an interrupted syscall
// (include/linux/errno.h), and the call it restarts with for the last.
const (
	errRestartSys          = 512
	errRestartNoIntr       = 513
	errRestartNoHand       = 514
	errRestartRestartBlock = 516
	sysRestartSyscall      = 219
)

// expectRestart looks at a thread stopped by an interrupt: if it was
// blocked in a syscall, the kernel restarts the call when it resumes (no
// handler runs: the tracer delivers no signal there), and the restarted
// call's seccomp stop must not reach the tool a second time. t.restart
// makes handleSeccomp pass it over if it is t's very next stop.
func (t *Thread) expectRestart() {
	var regs unix.PtraceRegs
	if ptraceGetRegs(t.Tid, &regs) != nil || int64(regs.Orig_rax) < 0 {
		return
	}
	nr := int(regs.Orig_rax)
	switch -int64(regs.Rax) {
	case errRestartSys, errRestartNoIntr, errRestartNoHand:
	case errRestartRestartBlock:
		nr = sysRestartSyscall
	default:
		return
	}
	if t.tr.sub.Has(nr) {
		t.restart = restartExpect{ok: true, nr: nr, ip: regs.Rip}
	}
}

// restartExpect is a syscall the kernel is about to restart.
type restartExpect struct {
	ok bool
	nr int
	ip uint64 // the address after the syscall instruction
}

func (tr *Tracer) hasDeferred(tid int) bool {
	for _, ev := range tr.deferred {
		if ev.tid == tid {
			return true
		}
	}
	return false
}

// deferStop hands a status of t consumed by a targeted wait to the main
// loop, which handles it as if wait4(-1) had returned it.
func (t *Thread) deferStop(ws unix.WaitStatus) error {
	t.tr.deferred = append(t.tr.deferred, waitEvent{tid: t.Tid, ws: ws})
	return nil
}
