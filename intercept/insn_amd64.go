//go:build linux && amd64

package intercept

import (
	"fmt"
	"math/bits"

	"golang.org/x/sys/unix"
)

// The amd64 instruction set as breakpoints need it: the int3 encoding,
// and the decoding and emulation of the few instructions a breakpoint can
// be stepped over by emulation.

// int3 is the one-byte breakpoint instruction. Executing it raises SIGTRAP
// with si_code SI_KERNEL and rip just past it.
const int3 = 0xcc

// int3Len is how far rip is past the breakpoint address at the trap.
const int3Len = 1

// maxInsnLen is the longest x86 instruction.
const maxInsnLen = 15

// offRIP is the offset of rip in struct user_regs_struct.
const offRIP = 16 * 8

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
	// insnMovImm: mov of an immediate into a register.
	insnMovImm
	// insnLoad: mov of 4 or 8 bytes of memory into a register.
	insnLoad
	// insnALU: add, or, and, sub, xor, cmp or test of a register with a
	// register or an immediate, setting the arithmetic flags.
	insnALU
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
	wide     bool  // 64-bit operation
	mem      memOperand
	alu      aluOp
	useImm   bool  // the ALU's second operand is imm, not src
	imm      int64 // sign-extended immediate (zero-extended for mov $imm32,%r32)
}

// aluOp is the operation of an insnALU, numbered as the /digit of opcodes
// 81 and 83 (test has no such digit).
type aluOp uint8

const (
	aluAdd  aluOp = 0
	aluOr   aluOp = 1
	aluAnd  aluOp = 4
	aluSub  aluOp = 5
	aluXor  aluOp = 6
	aluCmp  aluOp = 7
	aluTest aluOp = 8
)

func aluRegOp(op int) bool { _, ok := aluRegOps[op]; return ok }

// aluRegOps maps the register forms (mod == 11 only) of the ALU opcodes:
// op r/m, reg (reversed: false) and op reg, r/m (true).
var aluRegOps = map[int]struct {
	op       aluOp
	reversed bool
}{
	0x01: {aluAdd, false}, 0x03: {aluAdd, true},
	0x09: {aluOr, false}, 0x0b: {aluOr, true},
	0x21: {aluAnd, false}, 0x23: {aluAnd, true},
	0x29: {aluSub, false}, 0x2b: {aluSub, true},
	0x31: {aluXor, false}, 0x33: {aluXor, true},
	0x39: {aluCmp, false}, 0x3b: {aluCmp, true},
	0x85: {aluTest, false},
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
	// The rest take an optional REX prefix (no other prefix).
	i, rex := 0, 0
	if c := at(0); c >= 0x40 && c <= 0x4f {
		rex, i = c, 1
	}
	wide := rex&8 != 0
	op, modrm := at(i), at(i+1)
	imm32 := func(j int) (int64, bool) {
		if j+4 > len(b) {
			return 0, false
		}
		return int64(int32(uint32(b[j]) | uint32(b[j+1])<<8 | uint32(b[j+2])<<16 | uint32(b[j+3])<<24)), true
	}
	switch {
	case op >= 0xb8 && op <= 0xbf: // mov $imm, %reg
		dst := uint8(op-0xb8) | uint8(rex&1)<<3
		if wide {
			if i+9 > len(b) {
				return insn{kind: insnStep}
			}
			var v uint64
			for k := 7; k >= 0; k-- {
				v = v<<8 | uint64(b[i+1+k])
			}
			return insn{kind: insnMovImm, len: uint8(i + 9), dst: dst, wide: true, imm: int64(v)}
		}
		v, ok := imm32(i + 1)
		if !ok {
			return insn{kind: insnStep}
		}
		return insn{kind: insnMovImm, len: uint8(i + 5), dst: dst, imm: int64(uint32(v))}
	case op == 0xc7 && modrm >= 0 && modrm>>6 == 3 && (modrm>>3)&7 == 0: // mov $imm32, %reg
		v, ok := imm32(i + 2)
		if !ok {
			return insn{kind: insnStep}
		}
		if !wide {
			v = int64(uint32(v))
		}
		return insn{kind: insnMovImm, len: uint8(i + 6), dst: uint8(modrm&7) | uint8(rex&1)<<3, wide: wide, imm: v}
	case (op == 0x83 || op == 0x81) && modrm >= 0 && modrm>>6 == 3:
		a := aluOp((modrm >> 3) & 7)
		if a == 2 || a == 3 { // adc, sbb
			return insn{kind: insnStep}
		}
		in := insn{kind: insnALU, alu: a, dst: uint8(modrm&7) | uint8(rex&1)<<3, wide: wide, useImm: true}
		if op == 0x83 {
			if i+3 > len(b) {
				return insn{kind: insnStep}
			}
			in.imm, in.len = int64(int8(b[i+2])), uint8(i+3)
		} else {
			v, ok := imm32(i + 2)
			if !ok {
				return insn{kind: insnStep}
			}
			in.imm, in.len = v, uint8(i+6)
		}
		return in
	case aluRegOp(op) && modrm >= 0 && modrm>>6 == 3:
		f := aluRegOps[op]
		reg := uint8((modrm>>3)&7) | uint8(rex&4)<<1
		rm := uint8(modrm&7) | uint8(rex&1)<<3
		in := insn{kind: insnALU, alu: f.op, len: uint8(i + 2), dst: rm, src: reg, wide: wide}
		if f.reversed {
			in.dst, in.src = reg, rm
		}
		return in
	case op == 0x8d && modrm >= 0 && modrm>>6 != 3:
		reg, m, n := decodeModRM(b[i+1:], rex)
		if n > 0 {
			return insn{kind: insnLea, len: uint8(i + 1 + n), dst: reg, wide: wide, mem: m}
		}
		return insn{kind: insnStep}
	case op == 0x8b && modrm >= 0 && modrm>>6 != 3:
		reg, m, n := decodeModRM(b[i+1:], rex)
		if n > 0 {
			return insn{kind: insnLoad, len: uint8(i + 1 + n), dst: reg, wide: wide, mem: m}
		}
		return insn{kind: insnStep}
	}
	// 89 /r or 8b /r with mod == 11: mov between registers.
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

// guestMemory is how emulate reaches guest memory. Each access may
// refuse (false): the instruction is then stepped instead.
type guestMemory interface {
	load(addr uint64, n int) (uint64, bool)
	store(addr uint64, v uint64) bool // 8 bytes
}

// emulate applies the effect of in (decoded, not insnStep/insnSyscall) to
// regs, with rip at the instruction. It reports false, leaving regs in an
// unspecified state, if a memory access was refused.
func (in insn) emulate(regs *unix.PtraceRegs, mem guestMemory) bool {
	next := regs.Rip + uint64(in.len)
	width := func(v uint64) uint64 {
		if in.wide {
			return v
		}
		return uint64(uint32(v)) // 32-bit destinations are zero-extended
	}
	switch in.kind {
	case insnPush:
		val := *gpr(regs, in.src) // push %rsp pushes the old value
		if !mem.store(regs.Rsp-8, val) {
			return false
		}
		regs.Rsp -= 8
	case insnMov:
		*gpr(regs, in.dst) = width(*gpr(regs, in.src))
	case insnMovImm:
		*gpr(regs, in.dst) = uint64(in.imm)
	case insnLea:
		*gpr(regs, in.dst) = width(in.mem.addr(regs, next))
	case insnLoad:
		n := 4
		if in.wide {
			n = 8
		}
		v, ok := mem.load(in.mem.addr(regs, next), n)
		if !ok {
			return false
		}
		*gpr(regs, in.dst) = v
	case insnALU:
		a := *gpr(regs, in.dst)
		b := uint64(in.imm)
		if !in.useImm {
			b = *gpr(regs, in.src)
		}
		r, flags := alu(in.alu, a, b, in.wide)
		regs.Eflags = regs.Eflags&^flagsALU | flags
		if in.alu != aluCmp && in.alu != aluTest {
			*gpr(regs, in.dst) = r
		}
	}
	regs.Rip = next
	return true
}

// RFLAGS bits written by the ALU instructions.
const (
	flagCF   = 1 << 0
	flagPF   = 1 << 2
	flagAF   = 1 << 4
	flagZF   = 1 << 6
	flagSF   = 1 << 7
	flagOF   = 1 << 11
	flagsALU = flagCF | flagPF | flagAF | flagZF | flagSF | flagOF
)

// alu computes op on a and b in 64 or 32 bits and returns the result
// (zero-extended for 32 bits) and the flags it sets. AF, undefined after
// and/or/xor/test, is cleared as the hardware does.
func alu(op aluOp, a, b uint64, wide bool) (uint64, uint64) {
	size := uint(64)
	if !wide {
		size = 32
		a, b = uint64(uint32(a)), uint64(uint32(b))
	}
	mask := uint64(1)<<size - 1
	if wide {
		mask = ^uint64(0)
	}
	sign := uint64(1) << (size - 1)
	var r, f uint64
	switch op {
	case aluAdd:
		r = (a + b) & mask
		if r < a {
			f |= flagCF
		}
		if (a^r)&(b^r)&sign != 0 {
			f |= flagOF
		}
		f |= (a ^ b ^ r) & flagAF
	case aluSub, aluCmp:
		r = (a - b) & mask
		if a < b {
			f |= flagCF
		}
		if (a^b)&(a^r)&sign != 0 {
			f |= flagOF
		}
		f |= (a ^ b ^ r) & flagAF
	case aluAnd, aluTest:
		r = a & b
	case aluOr:
		r = a | b
	case aluXor:
		r = a ^ b
	}
	if r == 0 {
		f |= flagZF
	}
	if r&sign != 0 {
		f |= flagSF
	}
	if bits.OnesCount8(uint8(r))%2 == 0 {
		f |= flagPF
	}
	return r, f
}

// RDTSC reports whether t is stopped on a SIGSEGV raised by an rdtsc (2
// bytes) or rdtscp (3 bytes) instruction trapped by Options.TrapRDTSC, and
// the instruction's length. A tool emulates it by setting rax:rdx (and rcx
// for rdtscp) and advancing rip past it, then suppressing the signal.
func (t *Thread) RDTSC(regs *unix.PtraceRegs) (n int, ok bool) {
	var insn [3]byte
	if _, err := t.Proc.Mem.ReadAt(insn[:], int64(regs.Rip)); err != nil {
		return 0, false
	}
	switch {
	case insn[0] == 0x0f && insn[1] == 0x31:
		return 2, true
	case insn[0] == 0x0f && insn[1] == 0x01 && insn[2] == 0xf9:
		return 3, true
	}
	return 0, false
}
