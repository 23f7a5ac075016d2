//go:build linux && amd64

package intercept

// The amd64 debug registers behind watchpoints (watchpoints.go): their
// layout in struct user, the DR6 and DR7 encodings, and writing them into
// a thread.

import (
	"fmt"

	"golang.org/x/sys/unix"
)

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

// Debug registers in struct user: offsetof(struct user, u_debugreg) on
// x86-64 is 848 (regs 216, u_fpvalid and padding 8, i387 512, sizes 24,
// start_code/start_stack 16, signal 8, reserved and padding 8, u_ar0 8,
// u_fpstate 8, magic 8, u_comm 32). TestDebugRegOffset checks it against
// the C compiler's offsetof.
const (
	offDebugReg = 848
	offDR6      = offDebugReg + 6*8
	offDR7      = offDebugReg + 7*8
)

func offDR(slot int) uintptr { return uintptr(offDebugReg + 8*slot) }

// NumWatchSlots is the number of hardware watchpoints a process can have
// (DR0-DR3).
const NumWatchSlots = 4

// dr6Hits extracts the B0-B3 bits of DR6 (ptrace presents DR6 with its
// reserved bits set, as the hardware does; B0-B3 are not among them).
func dr6Hits(dr6 uint64) uint8 { return uint8(dr6 & 0xf) }

// dr7Bits returns the DR7 bits that enable w in slot: the local enable
// bit L<slot> and the R/W and LEN fields.
func dr7Bits(slot int, w Watchpoint) uint64 {
	var rw, ln uint64
	switch w.Kind {
	case WatchExec:
		rw = 0b00
	case WatchWrite:
		rw = 0b01
	case WatchReadWrite:
		rw = 0b11
	}
	switch w.Len {
	case 1:
		ln = 0b00
	case 2:
		ln = 0b01
	case 4:
		ln = 0b11
	case 8:
		ln = 0b10
	}
	return 1<<(2*slot) | rw<<(16+4*slot) | ln<<(18+4*slot)
}

// dr7Slot is the mask of every DR7 bit belonging to slot.
func dr7Slot(slot int) uint64 { return 3<<(2*slot) | 0xf<<(16+4*slot) }

// maxUserAddr bounds watched addresses: the top of the user address space
// with 4-level page tables (TASK_SIZE_MAX).
const maxUserAddr = 1<<47 - 4096

// watchHits returns the watchpoint slots whose hit t, stopped at a trap,
// reports (DR6's B0-B3 among the slots DR7 enables).
func (t *Thread) watchHits() (uint8, error) {
	dr6, err := ptracePeekUser(t.Tid, offDR6)
	if err != nil {
		return 0, err
	}
	return dr6Hits(dr6) & dr7Enabled(t.Proc.watch.dr7), nil
}
