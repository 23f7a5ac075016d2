package bpf

import "fmt"

// ValidationError says why Validate rejected a program. The kernel would
// have rejected the same program with EINVAL.
type ValidationError struct {
	// PC is the index of the offending instruction, or -1 when the problem
	// is the program as a whole (its length).
	PC int
	// Instruction is the offending instruction (zero when PC is -1).
	Instruction Instruction
	// Reason describes the problem.
	Reason string
}

func (e *ValidationError) Error() string {
	if e.PC < 0 {
		return "bpf: invalid seccomp program: " + e.Reason
	}
	return fmt.Sprintf("bpf: invalid seccomp program: instruction %d (%v): %s", e.PC, e.Instruction, e.Reason)
}

// seccompOpcodes is the exact set of opcodes seccomp_check_filter accepts
// (kernel/seccomp.c). Every other value of OpCode, including the unused bits
// of otherwise known instructions, is rejected.
var seccompOpcodes = map[uint16]bool{
	Ld | W | Abs:  true,
	Ld | W | Len:  true,
	Ldx | W | Len: true,
	Ld | Imm:      true,
	Ldx | Imm:     true,
	Ld | Mem:      true,
	Ldx | Mem:     true,
	St:            true,
	Stx:           true,
	Ret | RetK:    true,
	Ret | RetA:    true,
	Misc | Tax:    true,
	Misc | Txa:    true,
	Alu | Neg:     true,
	Alu | Add | K: true, Alu | Add | X: true,
	Alu | Sub | K: true, Alu | Sub | X: true,
	Alu | Mul | K: true, Alu | Mul | X: true,
	Alu | Div | K: true, Alu | Div | X: true,
	Alu | And | K: true, Alu | And | X: true,
	Alu | Or | K: true, Alu | Or | X: true,
	Alu | Xor | K: true, Alu | Xor | X: true,
	Alu | Lsh | K: true, Alu | Lsh | X: true,
	Alu | Rsh | K: true, Alu | Rsh | X: true,
	Jmp | Ja:      true,
	Jmp | Jeq | K: true, Jmp | Jeq | X: true,
	Jmp | Jgt | K: true, Jmp | Jgt | X: true,
	Jmp | Jge | K: true, Jmp | Jge | X: true,
	Jmp | Jset | K: true, Jmp | Jset | X: true,
}

// socketOnlyOpcodes are classic BPF opcodes the kernel accepts for socket
// filters (bpf_check_classic) but not for seccomp. Only used to word errors.
var socketOnlyOpcodes = map[uint16]bool{
	Ld | H | Abs: true, Ld | B | Abs: true,
	Ld | W | Ind: true, Ld | H | Ind: true, Ld | B | Ind: true,
	Ldx | B | Msh: true,
	Alu | Mod | K: true, Alu | Mod | X: true,
}

// IsSeccompOpcode reports whether op is one of the opcodes a seccomp filter
// may contain.
func IsSeccompOpcode(op uint16) bool { return seccompOpcodes[op] }

// Validate checks prog the way the kernel does when it is installed as a
// seccomp filter (bpf_check_classic in net/core/filter.c, then
// seccomp_check_filter in kernel/seccomp.c):
//
//   - 1 to MaxInstructions instructions;
//   - only opcodes seccomp allows (no byte/half-word or indirect loads, no
//     MSH, no MOD, no unknown bits);
//   - loads (LD|W|ABS) read an aligned 32-bit word inside the 64-byte
//     struct seccomp_data;
//   - no division by a zero constant, no constant shift of 32 or more;
//   - scratch cells are in 0..MemWords-1 and are stored on every path
//     before they are loaded;
//   - every jump lands inside the program (jumps are unsigned, hence
//     forward, so every program terminates);
//   - the last instruction is a return.
//
// A program Validate accepts runs to a return under Exec without error for
// any 64-byte input.
func Validate(prog []Instruction) error {
	n := len(prog)
	if n == 0 || n > MaxInstructions {
		return &ValidationError{PC: -1, Reason: fmt.Sprintf("length %d is not in 1..%d", n, MaxInstructions)}
	}
	bad := func(pc int, format string, args ...any) error {
		return &ValidationError{PC: pc, Instruction: prog[pc], Reason: fmt.Sprintf(format, args...)}
	}
	for pc, in := range prog {
		op, k := in.OpCode, in.K
		if !seccompOpcodes[op] {
			if socketOnlyOpcodes[op] {
				return bad(pc, "opcode %#04x is classic BPF but not allowed in a seccomp filter", op)
			}
			return bad(pc, "unknown opcode %#04x", op)
		}
		switch op {
		case Ld | W | Abs:
			if k >= SeccompDataSize || k%4 != 0 {
				return bad(pc, "load offset %d is not an aligned 32-bit word inside the %d-byte seccomp_data", k, SeccompDataSize)
			}
		case Alu | Div | K:
			if k == 0 {
				return bad(pc, "division by constant zero")
			}
		case Alu | Lsh | K, Alu | Rsh | K:
			if k >= 32 {
				return bad(pc, "shift by %d (must be < 32)", k)
			}
		case Ld | Mem, Ldx | Mem, St, Stx:
			if k >= MemWords {
				return bad(pc, "scratch cell %d out of range 0..%d", k, MemWords-1)
			}
		case Jmp | Ja:
			if uint64(k) >= uint64(n-pc-1) {
				return bad(pc, "jump target %d+1+%d is outside the %d-instruction program", pc, k, n)
			}
		default:
			if in.IsConditionalJump() {
				if pc+int(in.JumpIfTrue)+1 >= n || pc+int(in.JumpIfFalse)+1 >= n {
					return bad(pc, "jump target outside the %d-instruction program", n)
				}
			}
		}
	}
	if !prog[n-1].IsReturn() {
		return bad(n-1, "the last instruction is not a return")
	}
	return checkLoadsAndStores(prog)
}

// checkLoadsAndStores is the kernel's check_load_and_stores: a scratch cell
// may only be loaded if it was stored on every path leading to the load.
// It assumes the jumps were already checked to be in range.
func checkLoadsAndStores(prog []Instruction) error {
	masks := make([]uint16, len(prog))
	for i := range masks {
		masks[i] = 0xffff
	}
	var valid uint16
	for pc, in := range prog {
		valid &= masks[pc]
		switch {
		case in.OpCode == St || in.OpCode == Stx:
			valid |= 1 << in.K
		case in.OpCode == Ld|Mem || in.OpCode == Ldx|Mem:
			if valid&(1<<in.K) == 0 {
				return &ValidationError{PC: pc, Instruction: in, Reason: fmt.Sprintf("scratch cell %d may be loaded before it is stored", in.K)}
			}
		case in.OpCode == Jmp|Ja:
			masks[pc+1+int(in.K)] &= valid
			valid = 0xffff
		case in.IsConditionalJump():
			masks[pc+1+int(in.JumpIfTrue)] &= valid
			masks[pc+1+int(in.JumpIfFalse)] &= valid
			valid = 0xffff
		}
	}
	return nil
}
