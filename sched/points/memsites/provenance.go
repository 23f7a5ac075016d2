package memsites

import (
	"strings"

	"golang.org/x/arch/x86/x86asm"
)

// Register provenance: position-independent code reaches a global array
// in two steps, lea reg, [rip+table] then mov eax, [reg+rdi*4]; a switch
// reads its jump table the same way. Within straight-line code, a
// register loaded by such a lea is known to point at its target, so an
// access through it is judged by what it points at (Global if writable
// data, no site if a read-only table) rather than as an unknown pointer.
// The walk is deliberately simple and conservative: it forgets everything
// at a jump target and after any instruction that is not a plain write of
// its first operand.

// step is what the walk needs to know about one instruction.
type step struct {
	pc uint64
	// leaReg, leaTarget: lea leaReg, [rip+...] with its target.
	leaReg    Reg
	leaTarget uint64
	// dest is the register an instruction of the plain-write kinds
	// writes (NoReg: none); reset that the instruction may write others
	// or transfer control: forget everything.
	dest  Reg
	reset bool
	// jump is a direct jump or call's target (0: none).
	jump uint64
}

// known is the walk's state: what some registers point at.
type known struct {
	valid  uint32 // bit r: target[r] is known
	target [RIP + 1]uint64
}

func (k *known) get(r Reg) (uint64, bool) {
	if k == nil || r <= NoReg || r >= RIP || k.valid&(1<<r) == 0 {
		return 0, false
	}
	return k.target[r], true
}

// apply updates the state after an instruction.
func (k *known) apply(s step) {
	switch {
	case s.reset:
		k.valid = 0
	case s.leaReg != NoReg:
		k.valid |= 1 << s.leaReg
		k.target[s.leaReg] = s.leaTarget
	case s.dest != NoReg:
		k.valid &^= 1 << s.dest
	}
}

// plainWrite are instructions that write no general-purpose register but
// their first operand.
var plainWrite = map[x86asm.Op]bool{
	x86asm.MOV: true, x86asm.MOVZX: true, x86asm.MOVSX: true, x86asm.MOVSXD: true, x86asm.LEA: true,
	x86asm.ADD: true, x86asm.SUB: true, x86asm.AND: true, x86asm.OR: true, x86asm.XOR: true,
	x86asm.SHL: true, x86asm.SHR: true, x86asm.SAR: true, x86asm.INC: true, x86asm.DEC: true,
	x86asm.NEG: true, x86asm.NOT: true, x86asm.CMP: true, x86asm.TEST: true, x86asm.BT: true,
	x86asm.NOP: true,
}

// stepOf describes an x86asm instruction at pc for the walk.
func stepOf(in *x86asm.Inst, pc uint64) step {
	s := step{pc: pc}
	if rel, ok := in.Args[0].(x86asm.Rel); ok {
		s.jump = pc + uint64(in.Len) + uint64(int64(rel))
		s.reset = true
		return s
	}
	op := in.Op.String()
	switch {
	case in.Op == x86asm.LEA:
		d := gpr64(in.Args[0])
		if m, ok := in.Args[1].(x86asm.Mem); ok && m.Base == x86asm.RIP && m.Index == 0 && d != NoReg && in.DataSize == 64 {
			s.leaReg, s.leaTarget = d, pc+uint64(in.Len)+uint64(m.Disp)
			return s
		}
		s.dest = d
	case plainWrite[in.Op], in.Op == x86asm.IMUL && in.Args[1] != nil,
		strings.HasPrefix(op, "CMOV"), strings.HasPrefix(op, "SET"):
		s.dest = gpr64(in.Args[0])
	default:
		s.reset = true
	}
	return s
}

// gpr64 is the 64-bit register an argument names or is part of (NoReg
// for memory, immediates and other registers).
func gpr64(a x86asm.Arg) Reg {
	r, ok := a.(x86asm.Reg)
	if !ok {
		return NoReg
	}
	switch {
	case r >= x86asm.AL && r <= x86asm.BL:
		return RAX + Reg(r-x86asm.AL)
	case r >= x86asm.AH && r <= x86asm.BH:
		return RAX + Reg(r-x86asm.AH)
	case r >= x86asm.SPB && r <= x86asm.R15B:
		return RSP + Reg(r-x86asm.SPB)
	case r >= x86asm.AX && r <= x86asm.R15W:
		return RAX + Reg(r-x86asm.AX)
	case r >= x86asm.EAX && r <= x86asm.R15L:
		return RAX + Reg(r-x86asm.EAX)
	case r >= x86asm.RAX && r <= x86asm.R15:
		return RAX + Reg(r-x86asm.RAX)
	}
	return NoReg
}
