package intercept

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// The amd64 parts of breakpoints and watchpoints: the int3 encoding, the
// few instructions a breakpoint can be stepped over by emulation, and the
// layout of the debug registers.

// int3 is the one-byte breakpoint instruction. Executing it raises SIGTRAP
// with si_code SI_KERNEL and rip just past it.
const int3 = 0xcc

// int3Len is how far rip is past the breakpoint address at the trap.
const int3Len = 1

// maxInsnLen is the longest x86 instruction.
const maxInsnLen = 15

// offRIP is the offset of rip in struct user_regs_struct.
const offRIP = 16 * 8

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

// insnKind is how a breakpoint's original instruction is stepped over.
type insnKind uint8

const (
	// insnStep: restore the byte and single-step it in place.
	insnStep insnKind = iota
	// insnNop: the instruction has no effect but rip += len (nop, endbr64).
	insnNop
	// insnPush: push of a 64-bit general register.
	insnPush
	// insnMov: mov between general registers (32 or 64 bits).
	insnMov
	// insnLea: lea of a 64-bit address into a 32- or 64-bit register.
	insnLea
	// insnSyscall: `syscall` or `int $0x80`: run to its syscall-entry stop
	// (PTRACE_SYSCALL) instead of single-stepping, so that a blocking
	// call never blocks the tracer.
	insnSyscall
)

// insn is the decoded original instruction at a breakpoint. Only the
// instructions above are recognised; everything else is insnStep.
type insn struct {
	kind     insnKind
	len      uint8
	dst, src uint8 // register numbers (0 rax ... 15 r15)
	wide     bool  // 64-bit destination
	mem      memOperand
}

// memOperand is the address of a ModRM memory operand in 64-bit mode:
// base + index*scale + disp, or next rip + disp when ripRel.
type memOperand struct {
	base, index int8 // register numbers, -1 for none
	scale       uint8
	ripRel      bool
	disp        int32
}

// decodeInsn recognises the instruction at the start of b (the original
// bytes, without breakpoints). Function entries are mostly endbr64, push
// and register moves: glibc 2.36's are ~55% push, ~10% mov.
func decodeInsn(b []byte) insn {
	at := func(i int) int {
		if i < len(b) {
			return int(b[i])
		}
		return -1
	}
	switch {
	case at(0) == 0xf3 && at(1) == 0x0f && at(2) == 0x1e && (at(3) == 0xfa || at(3) == 0xfb):
		return insn{kind: insnNop, len: 4} // endbr64, endbr32
	case at(0) == 0x90:
		return insn{kind: insnNop, len: 1}
	case at(0) == 0x66 && at(1) == 0x90:
		return insn{kind: insnNop, len: 2}
	case at(0) == 0x0f && at(1) == 0x1f:
		if reg, _, n := decodeModRM(b[2:], 0); n > 0 && reg == 0 {
			return insn{kind: insnNop, len: uint8(2 + n)}
		}
	case at(0) == 0x66 && at(1) == 0x0f && at(2) == 0x1f:
		if reg, _, n := decodeModRM(b[3:], 0); n > 0 && reg == 0 {
			return insn{kind: insnNop, len: uint8(3 + n)}
		}
	case at(0) >= 0x50 && at(0) <= 0x57:
		return insn{kind: insnPush, len: 1, src: b[0] - 0x50}
	case at(0) == 0x41 && at(1) >= 0x50 && at(1) <= 0x57:
		return insn{kind: insnPush, len: 2, src: 8 + b[1] - 0x50}
	case at(0) == 0x0f && at(1) == 0x05, at(0) == 0xcd && at(1) == 0x80:
		return insn{kind: insnSyscall, len: 2}
	}
	// [REX] 89 /r or 8b /r with mod == 11: mov between registers.
	i, rex := 0, 0
	if c := at(0); c >= 0x40 && c <= 0x4f {
		rex, i = c, 1
	}
	op, modrm := at(i), at(i+1)
	if op == 0x8d && modrm >= 0 && modrm>>6 != 3 {
		reg, m, n := decodeModRM(b[i+1:], rex)
		if n > 0 {
			return insn{kind: insnLea, len: uint8(i + 1 + n), dst: reg, wide: rex&8 != 0, mem: m}
		}
		return insn{kind: insnStep}
	}
	if (op == 0x89 || op == 0x8b) && modrm >= 0 && modrm>>6 == 3 {
		reg := uint8((modrm>>3)&7) | uint8(rex&4)<<1
		rm := uint8(modrm&7) | uint8(rex&1)<<3
		in := insn{kind: insnMov, len: uint8(i + 2), wide: rex&8 != 0}
		if op == 0x89 { // mov r/m, reg
			in.dst, in.src = rm, reg
		} else { // mov reg, r/m
			in.dst, in.src = reg, rm
		}
		return in
	}
	return insn{kind: insnStep}
}

// decodeModRM decodes a ModRM byte with its SIB and displacement in
// 64-bit mode (no address-size prefix) under the REX prefix rex (0 if
// none). It returns the reg field (extended by REX.R), the memory operand
// (meaningless for mod == 3) and the length in bytes, 0 if b is too short.
func decodeModRM(b []byte, rex int) (reg uint8, m memOperand, n int) {
	if len(b) < 1 {
		return 0, m, 0
	}
	mod, rm := b[0]>>6, b[0]&7
	reg = (b[0]>>3)&7 | uint8(rex&4)<<1
	m = memOperand{base: int8(rm) | int8(rex&1)<<3, index: -1, scale: 1}
	n = 1
	dispLen := 0
	switch mod {
	case 1:
		dispLen = 1
	case 2:
		dispLen = 4
	}
	if mod != 3 && rm == 4 {
		if len(b) < 2 {
			return 0, m, 0
		}
		sib := b[1]
		n++
		m.scale = 1 << (sib >> 6)
		if idx := int8((sib>>3)&7) | int8(rex&2)<<2; idx != 4 {
			m.index = idx
		}
		m.base = int8(sib&7) | int8(rex&1)<<3
		if mod == 0 && sib&7 == 5 {
			m.base, dispLen = -1, 4
		}
	} else if mod == 0 && rm == 5 {
		m.base, m.ripRel, dispLen = -1, true, 4
	}
	if n+dispLen > len(b) {
		return 0, m, 0
	}
	switch dispLen {
	case 1:
		m.disp = int32(int8(b[n]))
	case 4:
		m.disp = int32(uint32(b[n]) | uint32(b[n+1])<<8 | uint32(b[n+2])<<16 | uint32(b[n+3])<<24)
	}
	return reg, m, n + dispLen
}

// addr computes the operand's address; next is the address of the
// following instruction (the base of rip-relative operands).
func (m memOperand) addr(regs *unix.PtraceRegs, next uint64) uint64 {
	a := uint64(int64(m.disp))
	if m.ripRel {
		return next + a
	}
	if m.base >= 0 {
		a += *gpr(regs, uint8(m.base))
	}
	if m.index >= 0 {
		a += *gpr(regs, uint8(m.index)) * uint64(m.scale)
	}
	return a
}

// gpr returns the general register number r of regs.
func gpr(regs *unix.PtraceRegs, r uint8) *uint64 {
	switch r {
	case 0:
		return &regs.Rax
	case 1:
		return &regs.Rcx
	case 2:
		return &regs.Rdx
	case 3:
		return &regs.Rbx
	case 4:
		return &regs.Rsp
	case 5:
		return &regs.Rbp
	case 6:
		return &regs.Rsi
	case 7:
		return &regs.Rdi
	case 8:
		return &regs.R8
	case 9:
		return &regs.R9
	case 10:
		return &regs.R10
	case 11:
		return &regs.R11
	case 12:
		return &regs.R12
	case 13:
		return &regs.R13
	case 14:
		return &regs.R14
	case 15:
		return &regs.R15
	}
	panic(fmt.Sprintf("intercept: register %d", r))
}

// emulate applies the effect of in (decoded, not insnStep/insnSyscall) to
// regs, with rip at the instruction. For a push it returns the stack slot
// and value the caller must write (ok is false for other instructions).
func (in insn) emulate(regs *unix.PtraceRegs) (slot, val uint64, push bool) {
	switch in.kind {
	case insnPush:
		val = *gpr(regs, in.src) // push %rsp pushes the old value
		regs.Rsp -= 8
		slot, push = regs.Rsp, true
	case insnMov:
		v := *gpr(regs, in.src)
		if !in.wide {
			v = uint64(uint32(v)) // 32-bit destinations are zero-extended
		}
		*gpr(regs, in.dst) = v
	case insnLea:
		v := in.mem.addr(regs, regs.Rip+uint64(in.len))
		if !in.wide {
			v = uint64(uint32(v))
		}
		*gpr(regs, in.dst) = v
	}
	regs.Rip += uint64(in.len)
	return slot, val, push
}
