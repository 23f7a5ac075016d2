package intercept

import (
	"fmt"
)

// Hardware watchpoints (debug registers). Breakpoints and watchpoints: see "Breakpoints and watchpoints" in the
// package doc for the design. Everything here runs on the tracer thread.

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
